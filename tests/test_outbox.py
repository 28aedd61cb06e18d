"""The outbox dispatcher on SQLite and PostgreSQL: send once, back off, expire, rate limits, leases, unreachable."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.demo import seed_demo
from bot.push import ConsolePusher, PushResult
from bot.runtime import build_runtime
from reminders.outbox import Dispatcher, DispatchPolicy, plain_renderer
from storage.db import transaction, upgrade
from storage.models import Member, OutboxMessage
from tests.conftest import make_settings
from tests.delivery_helpers import ScriptedPusher, add_rows, minutes, rows_by_key


@pytest.fixture
def rt(any_db_url, clock, segmenter):
    upgrade(any_db_url)
    runtime = build_runtime(make_settings(any_db_url), clock=clock, segmenter=segmenter, pushers={})
    with transaction(runtime.sessions) as session:
        seed_demo(session)
    yield runtime
    runtime.close()


def dispatcher(rt, pushers, **policy) -> Dispatcher:
    return Dispatcher(rt.sessions, {p.platform: p for p in pushers}, rt.services.clock, DispatchPolicy(**policy))


def test_due_rows_are_sent_once_and_future_rows_wait(rt, clock):
    now = clock()
    add_rows(rt.sessions, [
        {"key": "a:demo-shuji", "to": "demo-shuji", "due": now - minutes(5), "text": "请召开支委会"},
        {"key": "a:demo-dangyuan", "to": "demo-dangyuan", "due": now, "text": "本月主题党日"},
        {"key": "later:demo-shuji", "to": "demo-shuji", "due": now + minutes(30)},
    ])
    wecom = ScriptedPusher("wecom")
    report = dispatcher(rt, [wecom]).dispatch()
    assert report.summary() == "已发送 2 条，失败 0 条"
    assert sorted(wecom.calls) == [("demo-dangyuan", "本月主题党日", "a:demo-dangyuan"),
                                   ("demo-shuji", "请召开支委会", "a:demo-shuji")]
    rows = rows_by_key(rt.sessions)
    assert rows["a:demo-shuji"].status == "sent" and rows["a:demo-shuji"].sent_at == now
    assert rows["a:demo-shuji"].channel == "wecom" and rows["a:demo-shuji"].attempts == 1
    assert rows["later:demo-shuji"].status == "pending"

    assert dispatcher(rt, [wecom]).dispatch().outcomes == []  # nothing twice
    clock.set(now + minutes(30))
    dispatcher(rt, [wecom]).dispatch()
    assert [c[2] for c in wecom.calls[2:]] == ["later:demo-shuji"]


def test_failures_back_off_exponentially_then_give_up_keeping_the_error(rt, clock):
    now = clock()
    add_rows(rt.sessions, [{"key": "b:demo-shuji", "to": "demo-shuji", "due": now}])
    busy = PushResult(ok=False, retry=True, error="errcode -1: system busy")
    wecom = ScriptedPusher("wecom", answers=[busy] * 10)
    d = dispatcher(rt, [wecom], max_attempts=3)

    assert d.dispatch().summary() == "已发送 0 条，失败 1 条"
    row = rows_by_key(rt.sessions)["b:demo-shuji"]
    assert (row.status, row.attempts, row.next_attempt_at, row.last_error) == \
        ("pending", 1, now + minutes(1), "errcode -1: system busy")
    clock.set(now + timedelta(seconds=59))
    assert d.dispatch().outcomes == []  # still backing off
    clock.set(now + minutes(1))
    d.dispatch()
    row = rows_by_key(rt.sessions)["b:demo-shuji"]
    assert (row.attempts, row.next_attempt_at) == (2, now + minutes(1) + minutes(2))
    clock.set(row.next_attempt_at)
    report = d.dispatch()
    row = rows_by_key(rt.sessions)["b:demo-shuji"]
    assert row.status == "failed" and row.attempts == 3 and "system busy" in row.last_error
    assert report.of("failed")[0].error == row.last_error
    clock.set(now + timedelta(days=1))
    assert d.dispatch().outcomes == [] and len(wecom.calls) == 3


def test_a_permanent_error_fails_at_once_and_an_exception_is_retried(rt, clock):
    now = clock()
    add_rows(rt.sessions, [{"key": "c:demo-shuji", "to": "demo-shuji", "due": now}])
    dispatcher(rt, [ScriptedPusher("wecom", answers=[PushResult(False, False, "errcode 81013: user invalid")])]).dispatch()
    row = rows_by_key(rt.sessions)["c:demo-shuji"]
    assert (row.status, row.last_error) == ("failed", "errcode 81013: user invalid")

    add_rows(rt.sessions, [{"key": "d:demo-shuji", "to": "demo-shuji", "due": now}])
    dispatcher(rt, [ScriptedPusher("wecom", raises=ConnectionError("reset by peer"))]).dispatch()
    row = rows_by_key(rt.sessions)["d:demo-shuji"]
    assert row.status == "pending" and row.last_error == "ConnectionError: reset by peer"


def test_a_row_past_relevant_until_is_expired_not_sent(rt, clock):
    now = clock()
    add_rows(rt.sessions, [
        {"key": "e:old", "to": "demo-shuji", "due": now - timedelta(days=3), "until": now - minutes(1)},
        {"key": "e:fresh", "to": "demo-shuji", "due": now - timedelta(days=3), "until": now + minutes(1)},
    ])
    wecom = ScriptedPusher("wecom")
    report = dispatcher(rt, [wecom]).dispatch()
    assert [c[2] for c in wecom.calls] == ["e:fresh"]
    rows = rows_by_key(rt.sessions)
    assert rows["e:old"].status == "expired" and rows["e:old"].sent_at is None
    assert report.summary() == "已发送 1 条，失败 0 条" and len(report.of("expired")) == 1


def test_unreachable_members_fail_with_a_reason_and_the_secretary_gets_one_note(rt, clock):
    now = clock()
    with transaction(rt.sessions) as session:
        for uid in ("demo-b1-04", "demo-b1-05"):
            m = session.scalars(select(Member).where(Member.wecom_userid == uid)).one()
            m.wecom_userid = m.dingtalk_userid = None
            m.mobile = f"x{uid}"
        names = {m.name for m in session.scalars(select(Member).where(Member.mobile.like("x%")))}
        ids = [m.id for m in session.scalars(select(Member).where(Member.mobile.like("x%")))]
    with transaction(rt.sessions) as session:
        for i, member_id in enumerate(ids + ids):
            session.add(OutboxMessage(dedupe_key=f"f:{i}", recipient_id=member_id, kind="test",
                                      content={"text": "提醒"}, due_at=now, status="pending"))
    wecom = ScriptedPusher("wecom")
    report = dispatcher(rt, [wecom]).dispatch()

    rows = rows_by_key(rt.sessions)
    failed = [r for k, r in rows.items() if k.startswith("f:")]
    assert {r.status for r in failed} == {"failed"}
    assert {r.last_error for r in failed} == {"没有企业微信或钉钉账号"}
    notes = [r for r in rows.values() if r.kind == "unreachable"]
    assert len(notes) == 1 and notes[0].status == "sent"
    assert len(wecom.calls) == 1 and wecom.calls[0][0] == "demo-shuji"
    assert all(name in wecom.calls[0][1] for name in names)
    assert report.summary() == "已发送 1 条，失败 4 条"
    with rt.sessions() as session:
        assert {m.unreachable_reason for m in session.scalars(select(Member).where(Member.id.in_(ids)))} == \
            {"没有企业微信或钉钉账号"}

    # the same members again: already reported, so no second note
    with transaction(rt.sessions) as session:
        session.add(OutboxMessage(dedupe_key="f:again", recipient_id=ids[0], kind="test", content={"text": "x"},
                                  due_at=now, status="pending"))
    dispatcher(rt, [wecom]).dispatch()
    assert len([r for r in rows_by_key(rt.sessions).values() if r.kind == "unreachable"]) == 1


def test_an_account_on_a_platform_not_connected_is_unreachable_too(rt, clock):
    now = clock()
    with transaction(rt.sessions) as session:
        m = session.scalars(select(Member).where(Member.wecom_userid == "demo-dangyuan")).one()
        m.wecom_userid = None  # only DingTalk left, and only WeCom is connected
    with transaction(rt.sessions) as session:
        session.add(OutboxMessage(dedupe_key="g:1", recipient_id=m.id, kind="test", content={"text": "x"},
                                  due_at=now, status="pending"))
    dispatcher(rt, [ScriptedPusher("wecom")]).dispatch()
    assert rows_by_key(rt.sessions)["g:1"].last_error == "只有钉钉账号，但该平台未接入"


def test_a_crashed_claim_is_resent_after_the_lease_with_the_same_key(rt, clock):
    now = clock()
    add_rows(rt.sessions, [{"key": "h:demo-shuji", "to": "demo-shuji", "due": now}])
    wecom = ScriptedPusher("wecom")
    dead = dispatcher(rt, [wecom], lease=minutes(5))
    claims, _ = dead.claim()  # the process dies here, before pushing or recording
    assert len(claims) == 1 and rows_by_key(rt.sessions)["h:demo-shuji"].status == "in_flight"

    alive = dispatcher(rt, [wecom], lease=minutes(5))
    assert alive.dispatch().outcomes == []  # the lease still holds
    clock.set(now + minutes(5))
    assert alive.dispatch().summary() == "已发送 1 条，失败 0 条"
    row = rows_by_key(rt.sessions)["h:demo-shuji"]
    assert (row.status, row.attempts) == ("sent", 2)
    assert [c[2] for c in wecom.calls] == ["h:demo-shuji"]
    # the first claim wakes up late: it must not overwrite what the second recorded
    late = dead.record(claims[0], PushResult(ok=False, retry=True, error="timeout"))
    assert late.status == "lost" and rows_by_key(rt.sessions)["h:demo-shuji"].status == "sent"


def test_a_resent_row_keeps_its_platform(rt, clock):
    now = clock()
    add_rows(rt.sessions, [{"key": "i:demo-shuji", "to": "demo-shuji", "due": now}])
    first = dispatcher(rt, [ScriptedPusher("dingtalk")], lease=minutes(1))
    first.claim()
    clock.set(now + minutes(1))
    wecom, dingtalk = ScriptedPusher("wecom"), ScriptedPusher("dingtalk")
    dispatcher(rt, [wecom, dingtalk]).dispatch()  # wecom would be chosen for a fresh row
    assert not wecom.calls and [c[2] for c in dingtalk.calls] == ["i:demo-shuji"]


def test_rate_limit_per_member_per_minute(rt, clock):
    now = clock()
    add_rows(rt.sessions, [{"key": f"j:{i:02d}", "to": "demo-shuji", "due": now} for i in range(35)]
             + [{"key": "j:other", "to": "demo-zuzhi", "due": now}])
    wecom = ScriptedPusher("wecom")
    report = dispatcher(rt, [wecom]).dispatch()
    to_shuji = [c for c in wecom.calls if c[0] == "demo-shuji"]
    assert len(to_shuji) == 30 and ("demo-zuzhi", "提醒 j:other", "j:other") in wecom.calls
    assert len(report.of("deferred")) == 5 and report.summary() == "已发送 31 条，失败 0 条"
    clock.set(now + timedelta(seconds=30))
    assert dispatcher(rt, [wecom]).dispatch().sent == 0
    clock.set(now + minutes(1) + timedelta(seconds=1))
    assert dispatcher(rt, [wecom]).dispatch().sent == 5
    assert len({c[2] for c in wecom.calls}) == len(wecom.calls) == 36


def test_dingtalk_limit_is_twenty_a_minute(rt, clock):
    now = clock()
    add_rows(rt.sessions, [{"key": f"k:{i:02d}", "to": "demo-shuji", "due": now} for i in range(25)])
    dingtalk = ScriptedPusher("dingtalk")
    assert dispatcher(rt, [dingtalk]).dispatch().sent == 20


def test_console_pusher_when_no_platform_is_configured(rt, clock):
    printed: list[str] = []
    add_rows(rt.sessions, [{"key": "l:demo-shuji", "to": "demo-shuji", "due": clock(), "text": "请交党费"}])
    dispatcher(rt, [ConsolePusher(write=printed.append)]).dispatch()
    assert printed == ["［推送给 demo-shuji］\n请交党费"]


def test_a_row_that_cannot_be_rendered_fails_without_blocking_the_rest(rt, clock):
    now = clock()
    add_rows(rt.sessions, [{"key": "m:bad", "to": "demo-shuji", "due": now - minutes(1)},
                           {"key": "m:good", "to": "demo-shuji", "due": now}])

    def render(row):
        if row.dedupe_key == "m:bad":
            raise KeyError("text")
        return plain_renderer(row)

    wecom = ScriptedPusher("wecom")
    d = Dispatcher(rt.sessions, {"wecom": wecom}, clock, render=render)
    assert d.dispatch().summary() == "已发送 1 条，失败 1 条"
    rows = rows_by_key(rt.sessions)
    assert (rows["m:bad"].status, rows["m:bad"].last_error) == ("failed", "内容无法生成消息：KeyError")
    assert [c[2] for c in wecom.calls] == ["m:good"]


def test_a_member_reached_again_is_no_longer_marked_unreachable(rt, clock):
    with transaction(rt.sessions) as session:
        m = session.scalars(select(Member).where(Member.wecom_userid == "demo-dangyuan")).one()
        m.unreachable_reason = "没有企业微信或钉钉账号"
    add_rows(rt.sessions, [{"key": "n:1", "to": "demo-dangyuan", "due": clock()}])
    dispatcher(rt, [ScriptedPusher("wecom")]).dispatch()
    with rt.sessions() as session:
        assert session.get(Member, m.id).unreachable_reason is None


def test_claims_whose_lease_was_eaten_by_slow_calls_are_left_for_the_next_claim(rt, clock):
    now = clock()
    add_rows(rt.sessions, [{"key": f"o:{i}", "to": "demo-shuji", "due": now} for i in range(3)])

    class Slow(ScriptedPusher):
        def push(self, user_id, reply, dedupe_key):
            clock.set(clock() + minutes(2))  # each call takes two minutes of a five-minute lease
            return super().push(user_id, reply, dedupe_key)

    slow = Slow("wecom")
    d = dispatcher(rt, [slow], lease=minutes(5))
    report = d.dispatch()
    assert [c[2] for c in slow.calls] == ["o:0", "o:1"] and len(report.of("deferred")) == 1
    assert rows_by_key(rt.sessions)["o:2"].status == "in_flight"
    clock.set(now + minutes(5))
    d.dispatch()
    assert [c[2] for c in slow.calls] == ["o:0", "o:1", "o:2"]
    assert {r.status for r in rows_by_key(rt.sessions).values()} == {"sent"}
