"""The planner's bulk write: batches, the PostgreSQL writer thread, the hand-built JSON, concurrent planners."""
from __future__ import annotations

import json
import sqlite3
import threading
from datetime import date

import psycopg
import pytest
from sqlalchemy import func, select

from bot.demo import seed_demo
from reminders import planner
from reminders.planner import content_json, plan
from reminders.rules import KINDS, Due, Person
from storage.db import make_engine, make_session_factory, transaction, upgrade
from storage.models import OutboxMessage, PlannerState
from tests.reminder_helpers import local

DAY = date(2026, 12, 15)


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


def test_content_json_is_json_dumps_of_the_content_for_every_kind_and_awkward_text():
    someone = Person(1, "张三", "zhangsan")
    texts = ["普通文本", 'quote " and backslash \\ and \\N', "换行\n制表\t回车\r", "\x00\x1f控制", "emoji 🎉 \u2028"]
    for kind in KINDS:
        for text in texts:
            for letter in (False, True):
                due = Due("k", kind, "支部", (someone,), local(DAY), local(DAY, 0), text, letter)
                assert content_json(due) == json.dumps(due.content(), ensure_ascii=False, separators=(",", ":"))
                assert json.loads(content_json(due)) == due.content()


def test_small_batches_store_the_same_rows_as_one_batch(demo_db, monkeypatch):
    with transaction(demo_db) as s:
        whole = plan(s, DAY, now=local(DAY))
    want = {k: (r.recipient_id, r.kind, r.organization_id, r.content, r.due_at, r.relevant_until)
            for k, r in stored(demo_db).items()}
    with transaction(demo_db) as s:
        s.execute(OutboxMessage.__table__.delete())
    monkeypatch.setattr(planner, "BATCH_ROWS", 3)  # many batches, several of them through the writer thread
    monkeypatch.setattr(planner, "SQLITE_ROWS", 2)  # and on SQLite several statements a batch
    with transaction(demo_db) as s:
        batched = plan(s, DAY, now=local(DAY))
    got = {k: (r.recipient_id, r.kind, r.organization_id, r.content, r.due_at, r.relevant_until)
           for k, r in stored(demo_db).items()}
    assert batched.new == whole.new == len(want) > 10 and got == want
    with transaction(demo_db) as s:
        again = plan(s, DAY, now=local(DAY))
    assert (again.new, again.existing) == (0, len(want))


def test_a_failing_batch_rolls_back_the_whole_run(demo_db, monkeypatch):
    """A later batch that the database refuses (a recipient that does not exist) leaves nothing behind."""
    with transaction(demo_db) as s:
        good = plan(s, DAY, dry_run=True).dues
    ghost = Person(999_999, "不存在", "ghost")
    bad = Due("test:ghost", "theme_day", good[0].organization, (ghost,), local(DAY), local(DAY, 0), "x")
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):  # the driver's own: rows go to it directly
        with transaction(demo_db) as s:
            planner._insert_batches(s, iter([good, [bad], good]), {}, local(DAY))
    assert stored(demo_db) == {}


def test_concurrent_planners_plan_each_row_once(demo_db, monkeypatch):
    monkeypatch.setattr(planner, "BATCH_ROWS", 5)
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
    keys = {d.row_key(p) for d in results[0].dues for p in d.recipients}
    assert set(rows) == keys and sum(r.new for r in results) == len(keys)
    assert all(r.new + r.existing == len(keys) for r in results)
    with transaction(demo_db) as s:
        assert s.scalar(select(func.count()).select_from(PlannerState)) == 3


def test_a_run_the_caller_rolls_back_leaves_nothing_even_from_the_helper_connection(demo_db, monkeypatch):
    """On PostgreSQL a second batch goes through a helper connection; its rows share the session's fate."""
    monkeypatch.setattr(planner, "BATCH_ROWS", 3)
    with pytest.raises(RuntimeError, match="after planning"):
        with transaction(demo_db) as s:
            assert plan(s, DAY, now=local(DAY)).new > 10
            raise RuntimeError("after planning")
    s = demo_db()
    try:
        assert plan(s, DAY, now=local(DAY)).new > 10
    finally:
        s.close()  # closed without a commit: a rollback too
    assert stored(demo_db) == {}
    engine = demo_db.kw["bind"]
    assert engine.pool.checkedout() == 0  # the helper connection went back to the pool
    with transaction(demo_db) as s:
        planned = plan(s, DAY, now=local(DAY))
    assert len(stored(demo_db)) == planned.new > 10
