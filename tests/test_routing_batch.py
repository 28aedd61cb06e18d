"""Messages routed in batches (Router.process_batch, bot.routing_queue): one transaction for what queued up together,
with every message getting the outcome it would have got on its own."""
from __future__ import annotations

import gc
import threading
import time
from itertools import count

import pytest
from sqlalchemy import func, select

from bot.context import Context
from bot.messages import Incoming, Reply
from bot.router import FAILED, Handler
from bot.routing_queue import RoutingQueue
from storage.db import transaction
from storage.models import AuditLog, Meeting, ProcessedMessage
from tests.signin_helpers import code_of, later, rows

_ids = count()


def _msg(user: str, text: str, key: str | None = None) -> Incoming:
    return Incoming(platform="wecom", user_id=user, text=text, message_id=key or f"batch-{next(_ids)}")


def _texts(routed) -> list[str]:
    return [reply.as_text() for reply, _ in routed]


def _count(rt, model, *where) -> int:
    with transaction(rt.sessions) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _keys(rt) -> set[str]:
    with transaction(rt.sessions) as s:
        return set(s.scalars(select(ProcessedMessage.key)))


def _open_meeting(demo, clock) -> str:
    code = code_of(demo.router.handle(_msg("demo-shuji", "发起签到 主题党日")).as_text())
    later(clock, 2)
    return code


def test_a_batch_answers_each_message_as_it_would_be_answered_alone(demo, clock):
    code = _open_meeting(demo, clock)
    batch = [_msg("demo-dangyuan", f"签到 {code}"), _msg("demo-yubei", "帮助"), _msg("stranger", "帮助"),
             _msg("demo-zuzhi", f"qd {code}")]
    routed = demo.router.process_batch(batch)
    texts = _texts(routed)
    assert len(texts) == 4
    assert texts[0].startswith("签到成功") and "张伟" in texts[0]
    assert "看看我能做什么" in texts[1]
    assert "不在支部助手的党员名单里" in texts[2] and "stranger" in texts[2]
    assert texts[3].startswith("签到成功") and "李红梅" in texts[3]
    assert set(rows(demo, code)) == {"张伟", "李红梅"}
    assert {m.message_id for m in batch} <= _keys(demo)  # the stranger's too: a re-send is not answered twice


def test_a_resent_message_in_a_batch_is_a_duplicate_and_changes_nothing(demo, clock):
    code = _open_meeting(demo, clock)
    first = _msg("demo-dangyuan", f"签到 {code}")
    demo.router.handle(first)
    routed = demo.router.process_batch([_msg("demo-yubei", f"签到 {code}"), first, _msg("demo-zuzhi", "帮助")])
    assert [reply.duplicate for reply, _ in routed] == [False, True, False]
    assert set(rows(demo, code)) == {"张伟", "陈晨"}


def test_a_member_twice_or_a_key_twice_ends_the_batch_there(demo):
    a, b = _msg("demo-dangyuan", "帮助"), _msg("demo-yubei", "帮助")
    assert len(demo.router.process_batch([a, b, _msg("demo-dangyuan", "帮助"), _msg("demo-zuzhi", "帮助")])) == 2
    c = _msg("demo-zuzhi", "帮助")
    assert len(demo.router.process_batch([c, _msg("demo-shuji", "帮助", key=c.message_id)])) == 1
    assert len(demo.router.process_batch([_msg("demo-shuji", "帮助")])) == 1


def test_bad_input_in_a_batch_is_refused_alone_and_the_others_stand(demo, clock):
    code = _open_meeting(demo, clock)
    bad = _msg("demo-shuji", "发起签到 茶话会")
    routed = demo.router.process_batch([_msg("demo-dangyuan", f"签到 {code}"), bad, _msg("demo-yubei", f"签到 {code}")])
    texts = _texts(routed)
    assert texts[0].startswith("签到成功") and texts[2].startswith("签到成功")
    assert "“茶话会”不是会议类型" in texts[1]
    assert set(rows(demo, code)) == {"张伟", "陈晨"}
    assert _count(demo, Meeting) == 1  # only the meeting opened before the batch
    assert bad.message_id in _keys(demo)  # bad input is answered once: its re-send is a duplicate
    assert demo.router.process_batch([bad])[0][0].duplicate


@pytest.fixture
def exploding(demo):
    """A command whose handler writes an audit row and then fails."""
    def boom(incoming: Incoming, ctx: Context) -> Reply:
        ctx.audit("test.boom")
        raise RuntimeError("boom")

    demo.router.register(Handler(name="boom", func=boom, commands=("爆炸测试",)))
    return demo


def test_a_failing_handler_in_a_batch_fails_alone_and_can_be_retried(exploding, clock):
    demo = exploding
    code = _open_meeting(demo, clock)
    boom = _msg("demo-zuzhi", "爆炸测试")
    routed = demo.router.process_batch([_msg("demo-dangyuan", f"签到 {code}"), boom, _msg("demo-yubei", f"签到 {code}")])
    texts = _texts(routed)
    assert texts[1] == FAILED
    assert texts[0].startswith("签到成功") and texts[2].startswith("签到成功")
    assert set(rows(demo, code)) == {"张伟", "陈晨"}  # each once, though the batch was handled twice
    assert _count(demo, AuditLog, AuditLog.action == "test.boom") == 0
    assert boom.message_id not in _keys(demo)  # nothing of it was kept, so WeCom's re-send is handled again
    assert demo.router.process_batch([boom])[0][0].as_text() == FAILED


def test_deferred_actions_come_back_with_their_own_message(exploding):
    demo = exploding
    pushes: list[str] = []

    def defer(incoming: Incoming, ctx: Context) -> Reply:
        ctx.after_commit(lambda: pushes.append(incoming.user_id))
        return Reply(text="好")

    demo.router.register(Handler(name="defer", func=defer, commands=("稍后推送",)))
    routed = demo.router.process_batch([_msg("demo-dangyuan", "稍后推送"), _msg("demo-yubei", "帮助"),
                                        _msg("demo-zuzhi", "稍后推送")])
    assert [len(after) for _, after in routed] == [1, 0, 1]
    assert pushes == []  # not run by the router: the channel runs them after replying
    for _, after in routed:
        for action in after:
            action()
    assert pushes == ["demo-dangyuan", "demo-zuzhi"]


# the queue -----------------------------------------------------------------------------------------------------

class _SlowRouter:
    """A stand-in for Router.process_batch that holds its first batch until released, and answers a prefix."""

    def __init__(self, prefix: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.prefix = prefix

    def process_batch(self, incomings: list[Incoming]) -> list:
        self.batches.append([m.text for m in incomings])
        self.release.wait(5)
        taken = incomings[:self.prefix] if self.prefix else incomings
        return [(Reply(text=f"re:{m.text}"), []) for m in taken]


def _submit_while_held(router: _SlowRouter, routing: RoutingQueue, n: int) -> list:
    first = routing.submit(_msg("u0", "0"))
    deadline = time.monotonic() + 5
    while not router.batches and time.monotonic() < deadline:
        time.sleep(0.001)
    rest = [routing.submit(_msg(f"u{i}", str(i))) for i in range(1, n)]
    router.release.set()
    return [first, *rest]


def test_the_queue_batches_what_queued_up_and_answers_each_in_order():
    router = _SlowRouter()
    routing = RoutingQueue(router.process_batch, 1, max_batch=4)
    futures = _submit_while_held(router, routing, 10)
    assert [f.result(5)[0].text for f in futures] == [f"re:{i}" for i in range(10)]
    assert router.batches == [["0"], ["1", "2", "3", "4"], ["5", "6", "7", "8"], ["9"]]
    routing.shutdown()


def test_what_the_router_did_not_take_goes_first_into_the_next_batch():
    router = _SlowRouter(prefix=2)
    routing = RoutingQueue(router.process_batch, 1, max_batch=4)
    futures = _submit_while_held(router, routing, 6)
    assert [f.result(5)[0].text for f in futures] == [f"re:{i}" for i in range(6)]
    assert router.batches == [["0"], ["1", "2", "3", "4"], ["3", "4", "5"], ["5"]]
    routing.shutdown()


def test_a_router_that_raises_fails_its_batch_and_the_queue_goes_on():
    calls = []

    def process_batch(incomings):
        calls.append(len(incomings))
        if len(calls) == 1:
            raise RuntimeError("router broke")
        return [(Reply(text="ok"), []) for _ in incomings]

    routing = RoutingQueue(process_batch, 1)
    with pytest.raises(RuntimeError):
        routing.submit(_msg("u1", "a")).result(5)
    assert routing.submit(_msg("u2", "b")).result(5)[0].text == "ok"
    routing.shutdown()


def test_the_threads_stop_when_the_queue_is_dropped():
    routing = RoutingQueue(lambda batch: [(Reply(text="ok"), []) for _ in batch], 2, name="dropped-router")
    assert routing.submit(_msg("u1", "a")).result(5)[0].text == "ok"
    assert sum(t.name.startswith("dropped-router") for t in threading.enumerate()) == 2
    del routing
    gc.collect()
    deadline = time.monotonic() + 5
    while any(t.name.startswith("dropped-router") for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.name.startswith("dropped-router") for t in threading.enumerate())
