"""Reminder planning at scale: one day planned for 10,000 synthetic branches of 30 members on SQLite, and for a
province, 100,000 branches of 30 members, on PostgreSQL (DESIGN.md's targets: ≤ 5 s and ≤ 60 s).

The day is 2026-12-15. Branches fix their 主题党日 on different days (day 1–28 of the month, spread evenly), so on
that day about 1/28 of them send the T−3 notice and the dues reminders, 1/28 the day's notice, and every branch
gets what its term and meetings call for. Each size is measured beside one ten times smaller in the same run
(1,000 branches on SQLite, 10,000 on PostgreSQL): the ratio shows how the cost grows (≈10× means linear). The worst
day is measured too (SQLite): every branch on the default 20th, so all 300,000 members get the T−3 notice and a
private dues reminder at once. Each run is one transaction (reminders.planner), timed from the session's first
read to its commit.
Data are generated here with bulk loads: per branch a committee term, 30 members (4 with roles), a 支委会 and a
主题党日 recorded last month, and dues paid for November.
"""
from __future__ import annotations

import gc
import json
import random
import tempfile
import time
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from benchmarks.postgres import postgres_cluster, socket_database
from benchmarks.report import Figure
from reminders.planner import plan
from storage.db import make_engine, make_session_factory, transaction, upgrade

DAY = date(2026, 12, 15)
MEMBERS = 30
ROLES = ("书记", "组织委员", "宣传委员", "党费管理员")
NOW = datetime(2026, 12, 15, 0, 0, tzinfo=UTC)


@cache
def rows(branches: int, seed: int = 7) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
    rnd = random.Random(seed)
    orgs = [(1, "上级党委", "党委", None, "{}")]
    terms, members, roles, meetings, kinds, payments = [], [], [], [], [], []
    mid = 1
    members.append((mid, "上级管理员", "upper-admin", 1, "正式", date(1990, 1, 1)))
    roles.append((mid, 1, "上级管理员"))
    mid += 1
    for b in range(2, branches + 2):
        orgs.append((b, f"第{b - 1}党支部", "党支部", 1, json.dumps({"theme_day": {"day": 1 + b % 28}})))
        elected = date(2023 + rnd.randrange(3), rnd.randrange(1, 13), rnd.randrange(1, 29))
        terms.append((b, b, elected, 3, elected.replace(year=elected.year + 3)))
        for k in range(MEMBERS):
            category = "预备" if k == MEMBERS - 1 and b % 5 == 0 else "正式"
            joined = (date(2026, rnd.randrange(1, 12), rnd.randrange(1, 29)) if category == "预备"
                      else date(1980 + rnd.randrange(45), rnd.randrange(1, 13), rnd.randrange(1, 29)))
            members.append((mid, f"党员{mid}", f"u{mid}", b, category, joined))
            if k < len(ROLES):
                roles.append((mid, b, ROLES[k]))
            for month in ("2026-11",):
                payments.append((mid, month, 1000, date(2026, int(month[5:]), 20)))
            mid += 1
        for j, (day, kind) in enumerate(((date(2026, 11, 10), "支委会"), (date(2026, 11, 20), "主题党日"))):
            meeting_id = (b - 2) * 2 + j + 1
            at = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
            meetings.append((meeting_id, b, kind, at, at, at))
            kinds.append((meeting_id, kind))
    return {
        "organizations": (("id", "name", "type", "parent_id", "settings"), orgs),
        "committee_terms": (("id", "organization_id", "elected_on", "term_years", "ends_on"), terms),
        "members": (("id", "name", "wecom_userid", "organization_id", "category", "joined_on"), members),
        "roles": (("member_id", "organization_id", "role"), roles),
        "meetings": (("id", "organization_id", "title", "starts_at", "signin_opens_at", "signin_closes_at"), meetings),
        "meeting_kinds": (("meeting_id", "kind"), kinds),
        "dues_payments": (("member_id", "month", "amount_fen", "paid_on"), payments),
    }


EXTRA = {  # NOT NULL columns the models fill in from Python defaults
    "organizations": {"created_at": NOW},
    "committee_terms": {"created_at": NOW},
    "members": {"status": "active", "created_at": NOW, "updated_at": NOW},
    "meetings": {"status": "closed", "created_at": NOW},
    "dues_payments": {"source": "import", "created_at": NOW},
    "outbox": {},
}


def load(url: str, data) -> None:
    """Bulk-load through the raw driver: COPY on PostgreSQL, executemany on SQLite."""
    engine = make_engine(url)
    try:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            if engine.dialect.name == "sqlite":
                cur.execute("BEGIN")  # the engine leaves the driver in autocommit: one transaction, not one per row
            for table, (cols, values) in data.items():
                extra = EXTRA.get(table, {})
                allcols = cols + tuple(extra)
                tail = tuple(extra.values())
                if engine.dialect.name == "postgresql":
                    with cur.copy(f"COPY {table} ({', '.join(allcols)}) FROM STDIN") as copy:
                        for v in values:
                            copy.write_row(v + tail)
                else:
                    tail = tuple(x.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(x, datetime) else x for x in tail)
                    conv = [tuple(x.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(x, datetime)
                                  else x for x in v) + tail for v in values]
                    cur.executemany(f"INSERT INTO {table} ({', '.join(allcols)}) "
                                    f"VALUES ({', '.join('?' * len(allcols))})", conv)
            if engine.dialect.name == "postgresql":
                for table in ("organizations", "members", "meetings", "committee_terms"):
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                cur.execute("ANALYZE")
            else:
                cur.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
    finally:
        engine.dispose()


def timed_plan(url: str, repeat: bool = True) -> tuple[float, float, int, float]:
    """(wall seconds, CPU seconds of this process, rows planned, wall seconds of a repeat run finding them all)."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        gc.collect()  # start from a settled heap, as a scheduler process would
        started, cpu = time.perf_counter(), time.process_time()
        with transaction(sessions) as s:
            result = plan(s, DAY, now=NOW)
        first, cpu = time.perf_counter() - started, time.process_time() - cpu
        again_s = 0.0
        if repeat:
            started = time.perf_counter()
            with transaction(sessions) as s:
                again = plan(s, DAY, now=NOW)
            again_s = time.perf_counter() - started
            assert again.new == 0 and again.existing == result.new
        return first, cpu, result.new, again_s
    finally:
        engine.dispose()


def everyone_on_the_20th(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE organizations SET settings = '{}'")
            conn.exec_driver_sql("DELETE FROM outbox")
    finally:
        engine.dispose()


def measure(make_url, label: str, small: int, big: int, target: str, worst_day: bool = False) -> list[Figure]:
    out = {}
    for n in (small, big):
        url = make_url(n)
        upgrade(url)
        load(url, rows(n))
        out[n] = timed_plan(url)
        if n == small:
            rows.cache_clear()  # the small set's rows are not needed again
    (t1, _, r1, _), (t10, cpu10, r10, rep10) = out[small], out[big]
    figures = [
        Figure(f"{label}: plan one day, {big:,} branches × {MEMBERS} ({r10:,} outbox rows)", t10, "s", t1,
               f"{small:,} branches ({r1:,} rows)", target),
        Figure(f"{label}:   the same, CPU time of the planning process", cpu10, "s"),
        Figure(f"{label}:   the same day again (all {r10:,} already planned)", rep10, "s"),
    ]
    if not worst_day:
        return figures
    everyone_on_the_20th(url)
    worst, worst_cpu, worst_rows, _ = timed_plan(url, repeat=False)
    return figures + [
        Figure(f"{label}: worst day, every branch's 主题党日 notice at once ({worst_rows:,} rows)", worst, "s",
               t10, "the spread day", target),
        Figure(f"{label}:   the worst day, CPU time of the planning process", worst_cpu, "s"),
    ]


def main() -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        figures += measure(lambda n: f"sqlite:///{Path(tmp) / f'plan{n}.db'}", "SQLite", 1_000, 10_000, "≤ 5 s",
                           worst_day=True)
    rows.cache_clear()
    with postgres_cluster() as cluster:
        if cluster is not None:
            # a province; the worst day is measured on SQLite only, to keep the run within a few minutes
            figures += measure(lambda n: socket_database(cluster, f"plan{n}"), "PostgreSQL", 10_000, 100_000,
                               "≤ 60 s")
    rows.cache_clear()
    return figures


if __name__ == "__main__":
    from benchmarks.report import print_figures

    print_figures(main())
