"""The planner's bulk write: chunks, one transaction for the rows and planner_state, a crash before the commit,
concurrent planners, the stored content, and the configured time zone."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.demo import seed_demo
from reminders import planner
from reminders.planner import insert_absent, plan, plan_day
from reminders.rules import DEFAULT_TZ, KINDS, Due, Person
from reminders.state import load_states
from storage.db import make_engine, make_session_factory, transaction, upgrade
from storage.models import Member, OutboxMessage, PlannerState
from tests.reminder_helpers import add_meeting, local

DAY = date(2026, 12, 15)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo_db(any_db_url):
    upgrade(any_db_url)
    engine = make_engine(any_db_url)
    sessions = make_session_factory(engine)
    with transaction(sessions) as s:
        seed_demo(s)
    yield sessions
    engine.dispose()


def stored(sessions) -> dict[str, OutboxMessage]:
    with transaction(sessions) as s:
        return {r.dedupe_key: r for r in s.scalars(select(OutboxMessage))}


def planner_runs(sessions) -> int:
    with transaction(sessions) as s:
        return s.scalar(select(func.count()).select_from(PlannerState))


def test_content_of_every_kind_and_awkward_text_is_stored_as_given(demo_db):
    with transaction(demo_db) as s:
        someone = s.scalars(select(Member)).first()
    person = Person(someone.id, someone.name, someone.wecom_userid)
    texts = ["普通文本", 'quote " and backslash \\ and \\N', "换行\n制表\t回车\r", "\x1f控制", "emoji 🎉 \u2028"]
    dues = [Due(f"k:{kind}:{i}:{letter}", kind, "第一党支部", (person,), local(DAY), local(DAY, 0), text, letter)
            for kind in KINDS for i, text in enumerate(texts) for letter in (False, True)]
    with transaction(demo_db) as s:
        assert insert_absent(s, dues, {}, local(DAY)) == (len(dues), 0)
    rows = stored(demo_db)
    assert {k: r.content for k, r in rows.items()} == {d.row_key(person): d.content() for d in dues}


def test_small_chunks_store_the_same_rows_as_one_chunk(demo_db, monkeypatch):
    with transaction(demo_db) as s:
        whole = plan(s, DAY, now=local(DAY))
    want = {k: (r.recipient_id, r.kind, r.organization_id, r.content, r.due_at, r.relevant_until)
            for k, r in stored(demo_db).items()}
    with transaction(demo_db) as s:
        s.execute(OutboxMessage.__table__.delete())
    monkeypatch.setattr(planner, "CHUNK_ROWS", 3)
    with transaction(demo_db) as s:
        chunked = plan(s, DAY, now=local(DAY))
    got = {k: (r.recipient_id, r.kind, r.organization_id, r.content, r.due_at, r.relevant_until)
           for k, r in stored(demo_db).items()}
    assert chunked.new == whole.new == len(want) > 10 and got == want
    with transaction(demo_db) as s:
        again = plan(s, DAY, now=local(DAY))
    assert (again.new, again.existing) == (0, len(want))


def test_a_failing_chunk_rolls_back_the_whole_run(demo_db, monkeypatch):
    """A later chunk that the database refuses (a recipient that does not exist) leaves nothing behind."""
    monkeypatch.setattr(planner, "CHUNK_ROWS", 3)
    with transaction(demo_db) as s:
        good = plan(s, DAY, dry_run=True).dues
    ghost = Person(999_999, "不存在", "ghost")
    bad = Due("test:ghost", "theme_day", good[0].organization, (ghost,), local(DAY), local(DAY, 0), "x")
    with pytest.raises(IntegrityError):
        with transaction(demo_db) as s:
            insert_absent(s, [*good, bad, *good], {}, local(DAY))
    assert stored(demo_db) == {}


# Run in a child process: plan the day, and when the session is about to commit (rows and planner_state written
# and flushed), report what the transaction holds and die with SIGKILL, as a crashed scheduler would.
CRASH_BEFORE_COMMIT = """
import os, signal, sys
from datetime import date, datetime
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from reminders.planner import plan_day
from storage.db import make_engine, make_session_factory
from storage.models import OutboxMessage, PlannerState

@event.listens_for(Session, "before_commit")
def die(session):
    rows = session.scalar(select(func.count()).select_from(OutboxMessage))
    runs = session.scalar(select(func.count()).select_from(PlannerState))
    print(rows, runs, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

plan_day(make_session_factory(make_engine(sys.argv[1])), date.fromisoformat(sys.argv[2]),
         now=datetime.fromisoformat(sys.argv[3]))
print("committed", flush=True)
"""


def test_a_planner_killed_before_its_commit_leaves_nothing_and_the_next_run_plans_the_day_whole(demo_db):
    url = demo_db.kw["bind"].url.render_as_string(hide_password=False)
    proc = subprocess.run([sys.executable, "-c", CRASH_BEFORE_COMMIT, url, DAY.isoformat(), local(DAY).isoformat()],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    rows, runs = map(int, proc.stdout.split())
    assert rows > 10 and runs == 1  # the transaction held the day's rows and its planner_state when it died
    assert stored(demo_db) == {} and planner_runs(demo_db) == 0
    result = plan_day(demo_db, DAY, now=local(DAY))
    assert (result.new, result.existing) == (rows, 0)
    assert len(stored(demo_db)) == rows and planner_runs(demo_db) == 1


def test_concurrent_planners_plan_each_row_once(demo_db, monkeypatch):
    monkeypatch.setattr(planner, "CHUNK_ROWS", 5)
    start = threading.Barrier(3)
    results, errors = [], []

    def run() -> None:
        try:
            start.wait()
            with transaction(demo_db) as s:
                results.append(plan(s, DAY, now=local(DAY)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(results) == 3
    rows = stored(demo_db)
    digests = {k for k in rows if k.startswith("oversight_digest:")}  # the 党委's monthly digest (from the 1st on)
    keys = {d.row_key(p) for d in results[0].dues for p in d.recipients} | digests
    assert len(digests) == 1 and set(rows) == keys and sum(r.new for r in results) == len(keys)
    assert all(r.new + r.existing == len(keys) for r in results)
    assert planner_runs(demo_db) == 3


def test_a_run_the_caller_rolls_back_leaves_nothing(demo_db, monkeypatch):
    monkeypatch.setattr(planner, "CHUNK_ROWS", 3)
    with pytest.raises(RuntimeError, match="after planning"):
        with transaction(demo_db) as s:
            assert plan(s, DAY, now=local(DAY)).new > 10
            raise RuntimeError("after planning")
    s = demo_db()
    try:
        assert plan(s, DAY, now=local(DAY)).new > 10
    finally:
        s.close()  # closed without a commit: a rollback too
    assert stored(demo_db) == {} and planner_runs(demo_db) == 0
    assert demo_db.kw["bind"].pool.checkedout() == 0
    with transaction(demo_db) as s:
        planned = plan(s, DAY, now=local(DAY))
    assert len(stored(demo_db)) == planned.new > 10


def test_the_configured_time_zone_sets_the_times_planned(demo_db):
    """The same day planned in UTC: every notice at 08:00 UTC, every deadline at a UTC midnight."""
    with transaction(demo_db) as s:
        shanghai = {d.key: d for d in plan(s, DAY, dry_run=True).dues}
    result = plan_day(demo_db, DAY, UTC, now=local(DAY))
    assert {d.key for d in result.dues} == set(shanghai)
    rows = stored(demo_db)
    t6 = rows["term_expiry:第一党支部:2027-06-15:T-6m:demo-shuji"]
    assert t6.due_at == datetime(2026, 12, 15, 8, tzinfo=UTC) and t6.relevant_until == datetime(2027, 3, 15, tzinfo=UTC)
    assert all(r.due_at.astimezone(UTC).hour == 8 for r in rows.values())
    assert all(d.due_at == shanghai[d.key].due_at.replace(tzinfo=UTC) for d in result.dues)


def test_a_meetings_day_is_its_date_in_the_configured_zone(demo_db):
    with transaction(demo_db) as s:
        add_meeting(s, "第一党支部", date(2026, 12, 1), "支委会", hour=7)  # 07:00 in Beijing, 23:00 UTC the day before
    with transaction(demo_db) as s:
        days = {tz: {m.day for st in load_states(s, DAY, tz=tz) if st.name == "第一党支部" for m in st.meetings
                     if "支委会" in m.kinds} for tz in (DEFAULT_TZ, UTC)}
    assert date(2026, 12, 1) in days[DEFAULT_TZ] and date(2026, 11, 30) in days[UTC]
