"""Planning: the rules' Due items become outbox rows, one per recipient, inserted only when absent.

The outbox's unique dedupe key makes a second run (or a second process) a no-op; the database decides, in bulk:
`INSERT OR IGNORE` on SQLite, `INSERT … ON CONFLICT DO NOTHING` on PostgreSQL. Each run leaves a planner_state row.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from reminders.rules import Due, due_items
from reminders.state import load_calendar, load_states
from storage.models import OutboxMessage, PlannerState, utcnow

BATCH = 5000


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
    calendar = load_calendar(session)
    states = load_states(session, today, org_ids)
    dues: list[Due] = []
    for state in states:
        dues.extend(due_items(state, today, calendar))
    return dues, {s.name: s.org_id for s in states}


def outbox_rows(dues: list[Due], org_ids: dict[str, int], now: datetime) -> Iterator[dict[str, Any]]:
    for due in dues:
        content = due.content()
        due_at, until = due.due_at.astimezone(UTC), due.relevant_until.astimezone(UTC)
        org_id = org_ids.get(due.organization)
        for person in due.recipients:
            yield {"dedupe_key": due.row_key(person), "recipient_id": person.id, "kind": due.kind,
                   "organization_id": org_id, "channel": None, "content": content, "due_at": due_at,
                   "relevant_until": until, "status": "pending", "attempts": 0, "created_at": now}


def _batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_absent(session: Session, rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """(inserted, already there) — the unique dedupe key decides, so concurrent planners cannot double-plan."""
    conn = session.connection()
    table = OutboxMessage.__table__
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # psycopg reports no row count for executemany: RETURNING (sent as multi-row VALUES) counts what went in
        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)
    else:
        stmt = insert(table).prefix_with("OR IGNORE")  # sqlite3 sums executemany's row counts
    new = total = 0
    for batch in _batches(rows):
        total += len(batch)
        result = conn.execute(stmt, batch)
        new += len(result.all()) if postgres else result.rowcount
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
    dues, names = compute(session, today, org_ids)
    rows = outbox_rows(dues, names, now)
    if dry_run:
        keys = [r["dedupe_key"] for r in rows]
        existing = count_existing(session, keys)
        return PlanResult(today, dues, len(keys) - existing, existing)
    new, existing = insert_absent(session, rows)
    session.add(PlannerState(planned_for=today, run_at=now, new_count=new, existing_count=existing))
    session.flush()
    return PlanResult(today, dues, new, existing)
