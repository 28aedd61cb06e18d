"""Planning: the rules' Due items become outbox rows, one per recipient, inserted only when absent.

The outbox's unique dedupe key makes a second run (or a second process) a no-op; the database decides, in bulk:
`INSERT OR IGNORE` on SQLite, `INSERT … ON CONFLICT DO NOTHING` on PostgreSQL. Each run leaves a planner_state row.
"""
from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from reminders.rules import Due, due_items
from reminders.state import load_calendar, load_states
from reminders.workdays import Calendar
from storage.db import transaction
from storage.models import OutboxMessage, PlannerState, utcnow

BATCH = 5000  # keys per IN (...) list in a dry run; lines per COPY write


@dataclass
class PlanResult:
    planned_for: date
    dues: list[Due]
    new: int
    existing: int

    @property
    def rows(self) -> int:
        return self.new + self.existing

    def summary(self) -> str:
        return f"新增 {self.new} 条，已存在 {self.existing} 条"


def compute(session: Session, today: date, org_ids: Iterable[int] | None = None) -> tuple[list[Due], dict[str, int]]:
    """(every Due for `today`, organisation name → id) — reads only."""
    calendar = Calendar(load_calendar(session))  # one per run: every branch asks about the same days
    with _no_gc_pauses():
        states = load_states(session, today, org_ids)
        dues: list[Due] = []
        for state in states:
            dues.extend(due_items(state, today, calendar))
    return dues, {s.name: s.org_id for s in states}


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Building a million small tuples makes the cyclic collector rescan them again and again; none are cycles."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


COLUMNS = ("dedupe_key", "recipient_id", "kind", "organization_id", "content", "due_at", "relevant_until",
           "status", "attempts", "created_at")


def outbox_rows(dues: list[Due], org_ids: dict[str, int], now: datetime,
                convert: Callable[[str, Any], Any] | None = None) -> Iterator[tuple]:
    """One tuple per recipient in COLUMNS order; `convert(column, value)` runs once per Due, not once per row."""
    conv = convert or (lambda _col, v: v)
    created = conv("created_at", now)
    for due in dues:
        content = conv("content", due.content())
        due_at = conv("due_at", due.due_at)  # aware: the column's processing stores it as UTC
        until = conv("relevant_until", due.relevant_until)
        org_id = org_ids.get(due.organization)
        for person in due.recipients:
            yield (due.row_key(person), person.id, due.kind, org_id, content, due_at, until, "pending", 0, created)


def _converter(conn: Connection) -> Callable[[str, Any], Any]:
    """The columns' own bind processing (UTC naive text for SQLite times), applied ahead of time and remembered:
    a run has thousands of Dues but only a few dozen distinct times."""
    table = OutboxMessage.__table__
    procs = {c: table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
             for c in ("due_at", "relevant_until", "created_at")}
    memo: dict[datetime, Any] = {}

    def convert(col: str, value: Any) -> Any:
        if col == "content":
            return _json(value)  # UTF-8 text rather than \\u escapes: half the size; any JSON reader takes both
        hit = memo.get(value)
        if hit is None:
            proc = procs.get(col)
            hit = memo[value] = proc(value) if proc else value
        return hit
    return convert


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def insert_absent(session: Session, dues: list[Due], org_ids: dict[str, int], now: datetime) -> tuple[int, int]:
    """(inserted, already there) — the unique dedupe key decides, so concurrent planners cannot double-plan.

    The rows go straight to the driver: `INSERT OR IGNORE` through executemany on SQLite, COPY into a temporary
    table and one `INSERT … SELECT … ON CONFLICT DO NOTHING` on PostgreSQL.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return _insert_postgres(conn, dues, org_ids, now)
    total = sum(len(d.recipients) for d in dues)
    sql = f"INSERT OR IGNORE INTO outbox ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    cur = conn.connection.dbapi_connection.cursor()  # inside the session's transaction
    try:
        cur.executemany(sql, outbox_rows(dues, org_ids, now, _converter(conn)))  # streamed, no list of rows
        new = cur.rowcount  # sqlite3 sums executemany's row counts; ignored rows count 0
    finally:
        cur.close()
    return new, total - new


def _copy_field(value: Any) -> str:
    """One field of PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_lines(dues: list[Due], org_ids: dict[str, int], now: datetime) -> Iterator[str]:
    """COPY lines in COLUMNS order; everything but the key and the recipient is formatted once per Due."""
    created = _copy_field(now)
    for due in dues:
        tail = "\t".join((_copy_field(due.kind), _copy_field(org_ids.get(due.organization)),
                          _copy_field(_json(due.content())), _copy_field(due.due_at),
                          _copy_field(due.relevant_until), "pending", "0", created))
        for person in due.recipients:
            yield f"{_copy_field(due.row_key(person))}\t{person.id}\t{tail}\n"


def _insert_postgres(conn: Connection, dues: list[Due], org_ids: dict[str, int], now: datetime) -> tuple[int, int]:
    cur = conn.connection.dbapi_connection.cursor()  # inside the session's transaction
    cols = ", ".join(COLUMNS)
    cur.execute("CREATE TEMPORARY TABLE outbox_plan (dedupe_key varchar(300), recipient_id integer, kind varchar(40), "
                "organization_id integer, content json, due_at timestamptz, relevant_until timestamptz, "
                "status varchar(10), attempts integer, created_at timestamptz) ON COMMIT DROP")
    total = 0
    with cur.copy(f"COPY outbox_plan ({cols}) FROM STDIN") as copy:
        chunk: list[str] = []
        for line in _copy_lines(dues, org_ids, now):
            chunk.append(line)
            if len(chunk) == BATCH:
                copy.write("".join(chunk))
                total += len(chunk)
                chunk = []
        copy.write("".join(chunk))
        total += len(chunk)
    cur.execute(f"INSERT INTO outbox ({cols}) SELECT {cols} FROM outbox_plan "
                "ON CONFLICT (dedupe_key) DO NOTHING")
    new = cur.rowcount
    cur.execute("DROP TABLE outbox_plan")
    cur.close()
    return new, total - new


def count_existing(session: Session, keys: list[str]) -> int:
    n = 0
    for i in range(0, len(keys), BATCH):
        n += len(session.scalars(select(OutboxMessage.dedupe_key)
                                 .where(OutboxMessage.dedupe_key.in_(keys[i:i + BATCH]))).all())
    return n


def plan(session: Session, today: date, *, dry_run: bool = False, now: datetime | None = None,
         org_ids: Iterable[int] | None = None) -> PlanResult:
    """Plan `today` (the caller commits). With dry_run nothing is written; the counts say what would be."""
    now = now or utcnow()
    with _no_gc_pauses():  # one pause-free stretch from reading to writing
        dues, names = compute(session, today, org_ids)
        if dry_run:
            keys = [d.row_key(p) for d in dues for p in d.recipients]
            existing = count_existing(session, keys)
            return PlanResult(today, dues, len(keys) - existing, existing)
        new, existing = insert_absent(session, dues, names, now)
    session.add(PlannerState(planned_for=today, run_at=now, new_count=new, existing_count=existing))
    session.flush()
    return PlanResult(today, dues, new, existing)


def plan_day(sessions: sessionmaker[Session], today: date, now: datetime | None = None) -> PlanResult:
    """The scheduler's planning job: one transaction for the whole day."""
    with transaction(sessions) as session:
        return plan(session, today, now=now)
