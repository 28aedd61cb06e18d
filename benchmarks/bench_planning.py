"""Planning one day for 10,000 synthetic branches of 30 members, on SQLite and on PostgreSQL (target ≤ 5 s).

Baseline, same run and data: reading every branch, member, role and committee term once (what any planner must at
least load). Needs reminders.planner.plan_day(sessions, date); without it this prints why and reports nothing.
"""
from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import select

from benchmarks.report import Figure
from benchmarks.synthetic import populate
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import CommitteeTerm, Member, Organization, Role

BRANCHES, MEMBERS = 10_000, 30
DAY = date(2026, 12, 1)  # a busy day: month start, 组织生活会 alert, term stages
TARGET = "≤ 5 s"


def read_everything(sessions) -> int:
    with sessions() as session:
        n = 0
        for model in (Organization, Member, Role, CommitteeTerm):
            n += len(session.execute(select(model.__table__)).all())  # plain rows, no ORM objects
        return n


def measure(url: str, label: str, plan_day) -> list[Figure]:
    upgrade(url)
    engine = make_engine(url)
    populate(engine, BRANCHES, MEMBERS)
    sessions = make_session_factory(engine)
    t0 = time.perf_counter()
    read_everything(sessions)
    baseline = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan_day(sessions, DAY)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan_day(sessions, DAY)  # everything already planned: the daily re-run
    again = time.perf_counter() - t0
    engine.dispose()
    what = f"plan {DAY} for {BRANCHES:,} branches × {MEMBERS} members, {label}"
    return [Figure(what, first, "s", baseline, "reading all the data once", TARGET),
            Figure(what + ", second run (nothing new)", again, "s", baseline, "reading all the data once", TARGET)]


def main() -> list[Figure]:
    try:
        from reminders.planner import plan_day
    except ModuleNotFoundError as err:
        if err.name != "reminders.planner":
            raise
        print("   reminders.planner 不存在：规划基准需要 plan_day(sessions, date)，跳过")
        return []
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        figures += measure(f"sqlite:///{Path(tmp) / 'bench.db'}", "SQLite", plan_day)
    from tests.pg import Cluster, server_bin

    if server_bin() is None:
        print("   没有 PostgreSQL 服务端程序：只测 SQLite")
        return figures
    cluster = Cluster().start()
    try:
        figures += measure(cluster.create_db("bench_planning"), "PostgreSQL", plan_day)
    finally:
        cluster.stop()
    return figures
