"""Exactly once across SIGKILLs against the fake WeCom API, through the real WecomPusher.

The fake applies enable_duplicate_check as WeCom does and records what each member would see (`fake.inbox`). The
dispatchers are forked processes; the fake runs on a thread of this process, reached over loopback like the real
API. Runs on SQLite, and on PostgreSQL in `make test`'s second pass (db_url).
"""
from __future__ import annotations

import json
from collections import defaultdict

from tests.crash_harness import PushTarget, duplicates, run_crash_trials
from tests.fakes.crash_targets import WECOM_AGENT_ID, WECOM_CORP_ID, WECOM_SECRET
from tests.fakes.wecom_server import FakeWecomServer
from tests.test_delivery_crash import seed, statuses


def wecom_target(fake: FakeWecomServer) -> PushTarget:
    def deliveries() -> list[tuple[str, str]]:
        with fake._lock:
            return [(user, d.content) for user, seen in fake.inbox.items() for d in seen]

    def guard_drops() -> int:
        with fake._lock:
            return sum(1 for _, why, _ in fake.dropped if why == "duplicate")

    return PushTarget(url=fake.url, pusher_factory="tests.fakes.crash_targets:make_wecom_pusher",
                      deliveries=deliveries, guard_drops=guard_drops)


def test_sigkill_twenty_times_while_pushing_to_wecom_every_member_sees_each_push_once(db_url):
    expected = seed(db_url)
    fake = FakeWecomServer(corp_id=WECOM_CORP_ID, secret=WECOM_SECRET, agent_id=WECOM_AGENT_ID)
    fake.delays["message/send"] = 0.003  # a little time inside each send, so random kills land in it too
    with fake:
        target = wecom_target(fake)
        report = run_crash_trials(db_url, target, trials=20, seed=11)
        got = target.deliveries()
        sends = fake.calls("message/send")
        dropped = list(fake.dropped)
    assert report.kills == 20, report.exits
    assert duplicates(got) == {}
    assert sorted(got) == sorted(expected)
    assert statuses(db_url) == {"sent": len(expected)}
    assert [why for _, why, _ in dropped if why != "duplicate"] == []  # nothing lost to WeCom's rate limit
    # kills right after an accepted send left rows in flight that were sent again: WeCom's check swallowed those
    assert report.forced_after_push >= 1
    assert target.guard_drops() >= report.forced_after_push
    # the check works only if a re-send is byte-for-byte the same request body: no timestamp, no counter in it
    bodies: dict[tuple[str, str], set[str]] = defaultdict(set)
    for call in sends:
        bodies[(call.body["touser"], call.body["text"]["content"])].add(json.dumps(call.body, sort_keys=True))
        assert call.body["enable_duplicate_check"] == 1
    assert len(bodies) == len(expected)
    assert all(len(b) == 1 for b in bodies.values())
    assert len(sends) > len(expected)  # some pushes really were sent twice
