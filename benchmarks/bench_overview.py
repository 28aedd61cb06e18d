"""The 党委's overview at scale: 100 and 1,000 synthetic branches × 30 members with a year of meetings (主题党日 +
支委会 monthly, 党员大会 + 党课 quarterly, each with its sign-in roll) and dues, on SQLite: every branch's checkup
computed (reminders.oversight_state.load_checkups) and 支部概况 rendered, timed, with the number of statements."""
from __future__ import annotations

import random
import tempfile
import time as clock
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert, select

from benchmarks.report import Figure
from benchmarks.synthetic import populate
from handlers.oversight import overview_lines
from reminders.oversight_state import branches_under, load_checkups, load_tree
from reminders.rules import add_months
from storage.db import make_engine, make_session_factory, transaction, upgrade
from storage.dues import month_key
from storage.models import Attendance, DuesPayment, Meeting, MeetingKind, Member, Organization

MEMBERS = 30
TODAY = date(2026, 11, 24)
TZ = ZoneInfo("Asia/Shanghai")


def history(engine, seed: int = 3) -> None:
    """A year of meetings with attendance, and a year of dues with some members behind, in bulk inserts."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        branches = [r.id for r in conn.execute(select(Organization.id).where(Organization.type == "党支部"))]
        members: dict[int, list[int]] = {}
        for mid, org in conn.execute(select(Member.id, Member.organization_id)):
            members.setdefault(org, []).append(mid)
    meetings, kinds, rolls, dues = [], [], [], []
    meeting_id = 0
    first = add_months(date(TODAY.year, TODAY.month, 1), -12)
    for b in branches:
        quiet = rng.random() < 0.1  # one branch in ten stopped meeting three months ago
        for k in range(13):
            month = add_months(first, k)
            day = date(month.year, month.month, 15)
            if day > TODAY or (quiet and k > 9):
                continue
            meeting_id += 1
            starts = datetime.combine(day, time(9), tzinfo=TZ)
            meetings.append({"id": meeting_id, "organization_id": b, "title": "主题党日", "starts_at": starts,
                             "signin_opens_at": starts, "signin_closes_at": starts + timedelta(hours=2),
                             "status": "closed"})
            for kind in ("主题党日", "支委会") + (("党员大会", "党课") if month.month % 3 == 0 else ()):
                kinds.append({"meeting_id": meeting_id, "kind": kind})
            for mid in members.get(b, []):
                status = "present" if rng.random() < 0.85 else rng.choice(("absent", "leave"))
                rolls.append({"meeting_id": meeting_id, "member_id": mid, "status": status, "at": starts,
                              "via": "code"})
        for mid in members.get(b, []):
            behind = rng.choice((0,) * 20 + (3, 6))
            for k in range(12 - behind):
                dues.append({"member_id": mid, "month": month_key(add_months(first, k)), "amount_fen": 1000,
                             "paid_on": add_months(first, k), "source": "manual"})
    with engine.begin() as conn:
        for table, rows in ((Meeting, meetings), (MeetingKind, kinds), (Attendance, rolls), (DuesPayment, dues)):
            for i in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[i:i + 5000])


def timed_overview(url: str) -> tuple[float, int, int]:
    """(seconds, statements, branches) for the 上级管理员 of every synthetic 党委 at once: the tree, every checkup,
    the rendered text. The best of three runs."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    best = float("inf")
    try:
        for _ in range(3):
            statements.clear()
            started = clock.perf_counter()
            with transaction(sessions) as s:
                tree = load_tree(s)
                roots = [o.id for o in tree.values() if o.type == "党委"]
                cs = load_checkups(s, TODAY, branches_under(tree, roots), TZ, tree)
                text = "\n".join(overview_lines(cs, TODAY))
            best = min(best, clock.perf_counter() - started)
            assert text.startswith("【支部概况】")
        return best, len(statements), len(cs)
    finally:
        engine.dispose()


def main() -> list[Figure]:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (100, 1_000):
            url = f"sqlite:///{Path(tmp) / f'overview{n}.db'}"
            upgrade(url)
            engine = make_engine(url)
            try:
                populate(engine, n, MEMBERS)
                history(engine)
            finally:
                engine.dispose()
            out[n] = timed_overview(url)
    (t1, q1, _), (t2, q2, n2) = out[100], out[1_000]
    return [
        Figure(f"SQLite: 支部概况 computed and rendered, {n2:,} branches × {MEMBERS}", t2, "s", t1, "100 branches",
               "≤ 1 s"),
        Figure(f"SQLite:   statements for 1,000 branches (100 branches: {q1})", q2, "statements"),
    ]


if __name__ == "__main__":
    from benchmarks.report import print_figures

    print_figures(main())
