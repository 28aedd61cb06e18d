"""Outbox dispatch throughput: 3,000 due pushes through the dispatcher to a pusher that accepts at once.

Baseline, same run and database: the bare bookkeeping of one UPDATE and commit per row, which the dispatcher's claim
(in flight, lease) plus result (sent) must at least pay. No DESIGN target; it shows what one minute's tick can send.
"""
from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select, update

from benchmarks.postgres import postgres_cluster, socket_database
from benchmarks.report import Figure
from benchmarks.synthetic import populate
from bot.push import PushResult
from reminders.outbox import Dispatcher, DispatchPolicy
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Member, OutboxMessage, utcnow

ROWS, MEMBERS = 3_000, 30


class AcceptAll:
    platform = "wecom"

    def push(self, user_id, reply, dedupe_key) -> PushResult:
        return PushResult(ok=True)


def fill(engine, prefix: str) -> list[int]:
    now = utcnow()
    with engine.begin() as conn:
        ids = [r[0] for r in conn.execute(select(Member.id).where(Member.organization_id > 1))]
        rows = [{"dedupe_key": f"{prefix}:{i}", "recipient_id": ids[i % len(ids)], "kind": "bench",
                 "content": {"text": f"提醒 {i}"}, "due_at": now - timedelta(minutes=1), "status": "pending",
                 "attempts": 0} for i in range(ROWS)]
        conn.execute(insert(OutboxMessage), rows)
        return [r[0] for r in conn.execute(select(OutboxMessage.id).where(OutboxMessage.kind == "bench",
                                                                           OutboxMessage.dedupe_key.like(f"{prefix}:%")))]


def measure(url: str, label: str) -> Figure:
    upgrade(url)
    engine = make_engine(url)
    populate(engine, branches=4, members=MEMBERS)  # 25 pushes per member: under the 30 a minute limit
    sessions = make_session_factory(engine)
    ids = fill(engine, "base")
    t0 = time.perf_counter()
    for row_id in ids:
        with sessions() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id)
                            .values(status="sent", sent_at=utcnow()))
            session.commit()
    baseline = ROWS / (time.perf_counter() - t0)
    fill(engine, "run")
    dispatcher = Dispatcher(sessions, {"wecom": AcceptAll()}, utcnow, DispatchPolicy(batch_size=50))
    t0 = time.perf_counter()
    report = dispatcher.dispatch()
    value = report.sent / (time.perf_counter() - t0)
    engine.dispose()
    assert report.sent == ROWS, report.summary()
    return Figure(f"dispatch {ROWS:,} due pushes, {label}", value, "pushes/s", baseline, "one UPDATE+commit per row")


def main() -> list[Figure]:
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        figures.append(measure(f"sqlite:///{Path(tmp) / 'bench.db'}", "SQLite"))
    with postgres_cluster() as cluster:
        if cluster is not None:
            figures.append(measure(socket_database(cluster, "bench_delivery"), "PostgreSQL"))
    return figures
