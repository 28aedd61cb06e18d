"""Exactly once across SIGKILLs and across two dispatchers, against a loopback push target with a duplicate guard."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.db import make_engine, make_session_factory, transaction, upgrade
from storage.models import Member, Organization, OutboxMessage, utcnow
from tests.crash_harness import PushTarget, duplicates, run_crash_trials, start_worker
from tests.fakes.recording_push_server import RecordingPushServer

MEMBERS, PER_MEMBER = 30, 10


def seed(url: str, members: int = MEMBERS) -> list[tuple[str, str]]:
    """MEMBERS members with PER_MEMBER due pushes each; returns what each member should see, once."""
    upgrade(url)
    engine = make_engine(url)
    expected = []
    now = utcnow()
    with transaction(make_session_factory(engine)) as session:
        org = Organization(name="测试党支部", type="党支部")
        session.add(org)
        session.flush()
        people = [Member(name=f"党员{i:02d}", wecom_userid=f"u{i:02d}", organization_id=org.id) for i in range(members)]
        session.add_all(people)
        session.flush()
        for n in range(PER_MEMBER):
            for m in people:
                text = f"{m.name} 的第 {n} 条提醒"
                session.add(OutboxMessage(dedupe_key=f"t:{n}:{m.wecom_userid}", recipient_id=m.id, kind="test",
                                          organization_id=org.id, content={"text": text, "kind": "test"},
                                          due_at=now - timedelta(minutes=1), status="pending"))
                expected.append((m.wecom_userid, text))
    engine.dispose()
    return expected


def statuses(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        out: dict[str, int] = {}
        for status in session.scalars(select(OutboxMessage.status)):
            out[status] = out.get(status, 0) + 1
    engine.dispose()
    return out


def target_for(server: RecordingPushServer) -> PushTarget:
    return PushTarget(url=server.url, pusher_factory="tests.fakes.recording_push_server:make_pusher",
                      deliveries=server.deliveries, guard_drops=lambda: server.state.guard_drops)


def test_sigkill_twenty_times_every_push_arrives_exactly_once(any_db_url):
    url = any_db_url
    expected = seed(url)
    with RecordingPushServer(delay_s=0.003) as server:
        target = target_for(server)
        report = run_crash_trials(url, target, trials=20, seed=7)
        got = target.deliveries()
    assert report.kills == 20, report.exits  # every trial really killed a dispatcher with work left
    assert duplicates(got) == {}
    assert sorted(got) == sorted(expected)
    assert statuses(url) == {"sent": len(expected)}
    # each kill placed right after an accepted push left a row in flight that was re-sent after the lease:
    # only the platform's guard kept those from reaching the member twice
    assert report.forced_after_push >= 1
    assert target.guard_drops() >= report.forced_after_push


def test_two_dispatchers_on_one_database_send_every_push_once(any_db_url):
    busy_rate = 0.1  # some sends are refused and retried, so back-off runs while both dispatchers compete
    expected = seed(any_db_url, members=20)
    with RecordingPushServer(delay_s=0.002, busy_rate=busy_rate, seed=3) as server:
        target = target_for(server)
        # a long lease: no row is ever taken over, so any second send would be the claim's fault, not a crash's
        workers = [start_worker(any_db_url, target, lease_s=120) for _ in range(2)]
        for w in workers:
            _, err = w.communicate(timeout=300)
            assert w.returncode == 0, err[-2000:]
        got = target.deliveries()
        assert server.state.guard_drops == 0  # nothing was even attempted twice
        assert server.state.requests == len(expected)
        assert server.state.refused > 0
    assert duplicates(got) == {} and sorted(got) == sorted(expected)
    assert statuses(any_db_url) == {"sent": len(expected)}
