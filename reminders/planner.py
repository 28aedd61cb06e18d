"""Planning: the rules' Due items become outbox rows, one per recipient, inserted only when absent.

A run is one transaction, the caller's session's, on the session's one connection: the outbox rows go in with
`INSERT … ON CONFLICT (dedupe_key) DO NOTHING` (storage.db.insert_unless_present), then the planner_state row that
counts them. They commit together or not at all: a run that dies before its commit leaves nothing of the day, and
the next run plans it whole. The unique dedupe key makes a second run, or a second process, a no-op: the database
decides.

SQLite takes the rows as executemany statements of CHUNK_ROWS. PostgreSQL takes them through psycopg's COPY into a
temporary table and one `INSERT … SELECT … ON CONFLICT DO NOTHING` from it: a province's day is ~1.8 million rows,
and COPY spares SQLAlchemy's and psycopg's per-row work (benchmarks/bench_planning.py measures both databases).
There planners also take turns through a transaction-level advisory lock, so two runs never wait on each other's
uncommitted rows in opposite orders.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import Column, MetaData, Table, func, select
from sqlalchemy.orm import Session, sessionmaker

from reminders.development_plan import development_dues
from reminders.digest import (
    CONSOLE_LABEL,
    CONSOLE_PATH,
    DIGEST_KIND,
    TITLE,
    digest_key,
    digest_prefix,
    digest_season,
    digest_text,
)
from reminders.oversight_state import branches_under, load_checkups, load_tree
from reminders.rules import DEFAULT_TZ, Due, at, due_items, midnight
from reminders.state import chunked_rows, load_calendar, load_states
from reminders.workdays import Calendar
from storage.db import insert_unless_present, transaction
from storage.models import Member, OutboxMessage, PlannerState, Role, utcnow
from storage.months import add_months

CHUNK_ROWS = 5000  # outbox rows per executemany on SQLite: a day of 10,000 branches is ~180,000 rows
PLANNER_LOCK = 0x7A6869627521  # pg_advisory_xact_lock key: one planning run writes at a time
COLUMNS = ("dedupe_key", "recipient_id", "kind", "organization_id", "content", "due_at", "relevant_until", "status",
           "attempts", "created_at")


@dataclass
class PlanResult:
    planned_for: date
    dues: list[Due]
    new: int
    existing: int

    def summary(self) -> str:
        return f"新增 {self.new} 条，已存在 {self.existing} 条"


def due_list(session: Session, today: date, tz: tzinfo = DEFAULT_TZ,
             org_ids: Iterable[int] | None = None) -> tuple[list[Due], dict[str, int]]:
    """Every branch's Dues for `today` (or those of `org_ids`), the 发展党员 ones (reminders/development_plan.py)
    last, and each branch's organisation id by name."""
    calendar = Calendar(load_calendar(session))  # one per run: every branch asks about the same days
    states = load_states(session, today, org_ids, tz)
    dues = [due for state in states for due in due_items(state, today, calendar)]
    dues += development_dues(session, today, org_ids, calendar, tz)
    return dues, {s.name: s.org_id for s in states}


def outbox_rows(dues: Iterable[Due], org_ids: dict[str, int], now: datetime) -> Iterator[dict[str, Any]]:
    """One outbox row per recipient of each Due; what the recipients share is built once per Due."""
    for due in dues:
        shared = {"kind": due.kind, "organization_id": org_ids.get(due.organization), "content": due.content(),
                  "due_at": due.due_at, "relevant_until": due.relevant_until, "status": "pending", "attempts": 0,
                  "created_at": now}
        for person in due.recipients:
            yield {"dedupe_key": due.row_key(person), "recipient_id": person.id, **shared}


def insert_absent(session: Session, dues: Iterable[Due], org_ids: dict[str, int],
                  now: datetime) -> tuple[int, int]:
    """(inserted, already there), in the session's transaction: the unique dedupe key decides, so concurrent
    planners cannot double-plan."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(PLANNER_LOCK)))  # held until the transaction ends
        new, total = _copy_absent(session, dues, org_ids, now)
    else:
        new, total = _insert_chunks(session, outbox_rows(dues, org_ids, now))
    return new, total - new


def _insert_chunks(session: Session, rows: Iterator[dict[str, Any]]) -> tuple[int, int]:
    """(inserted, offered): executemany INSERTs of CHUNK_ROWS rows."""
    stmt = insert_unless_present(OutboxMessage.__table__, ["dedupe_key"], session.get_bind().dialect.name)
    new = total = 0
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            new += _inserted(session, stmt, chunk)
            total, chunk = total + len(chunk), []
    if chunk:
        new += _inserted(session, stmt, chunk)
        total += len(chunk)
    return new, total


def _inserted(session: Session, stmt: Any, params: list[dict[str, Any]] | None = None) -> int:
    """The rows `stmt` inserted: its rowcount, where a key already there counts 0 (SQLAlchemy keeps an INSERT's
    rowcount only when asked to, with preserve_rowcount)."""
    return session.execute(stmt, params, execution_options={"preserve_rowcount": True}).rowcount


def _copy_absent(session: Session, dues: Iterable[Due], org_ids: dict[str, int],
                 now: datetime) -> tuple[int, int]:
    """(inserted, offered) on PostgreSQL: COPY into a temporary table through psycopg on the session's own
    connection, inside its transaction, then one INSERT … SELECT … ON CONFLICT DO NOTHING from it."""
    from psycopg import sql

    conn = session.connection()
    outbox = OutboxMessage.__table__
    staging = Table("outbox_plan", MetaData(), *(Column(c, outbox.c[c].type) for c in COLUMNS),
                    prefixes=["TEMPORARY"])
    staging.create(conn)
    copy_rows = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(staging.name), sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))
    total = 0
    with conn.connection.driver_connection.cursor() as cur, cur.copy(copy_rows) as copy:
        for due in dues:
            content = json.dumps(due.content(), ensure_ascii=False)  # UTF-8 text: half the size of \u escapes
            org_id = org_ids.get(due.organization)
            for person in due.recipients:
                copy.write_row((due.row_key(person), person.id, due.kind, org_id, content, due.due_at,
                                due.relevant_until, "pending", 0, now))
            total += len(due.recipients)
    new = _inserted(session, insert_unless_present(outbox, ["dedupe_key"], "postgresql")
                    .from_select(COLUMNS, select(staging)))
    staging.drop(conn)  # the session may plan again before it commits
    return new, total


def count_existing(session: Session, keys: list[str]) -> int:
    return len(chunked_rows(session, select(OutboxMessage.dedupe_key), OutboxMessage.dedupe_key, keys))


def plan(session: Session, today: date, *, tz: tzinfo = DEFAULT_TZ, dry_run: bool = False,
         now: datetime | None = None, org_ids: Iterable[int] | None = None) -> PlanResult:
    """Plan `today` in the session's transaction (the caller commits); `tz` is the configured zone (settings.tz).
    With dry_run nothing is written; the counts say what would be."""
    now = now or utcnow()
    dues, names = due_list(session, today, tz, org_ids)
    digests, planned = digest_rows(session, today, tz, now) if org_ids is None else ([], 0)
    if dry_run:
        keys = [d.row_key(p) for d in dues for p in d.recipients] + [r["dedupe_key"] for r in digests]
        existing = count_existing(session, keys)
        return PlanResult(today, dues, len(keys) - existing, existing + planned)
    new, existing = insert_absent(session, dues, names, now)
    existing += planned
    if digests:  # a handful of rows: plain INSERTs on either database, under the lock insert_absent took
        added, offered = _insert_chunks(session, iter(digests))
        new, existing = new + added, existing + offered - added
    session.add(PlannerState(planned_for=today, run_at=now, new_count=new, existing_count=existing))
    session.flush()
    return PlanResult(today, dues, new, existing)


def digest_rows(session: Session, today: date, tz: tzinfo,
                now: datetime) -> tuple[list[dict[str, Any]], int]:
    """From the month's first working day, one outbox row per 上级管理员 who has none yet: last month's digest of the
    branches under the organisations they administer (reminders/digest.py); and how many were planned before.
    Before that day: none."""
    if not digest_season(today, Calendar(load_calendar(session))):
        return [], 0
    sent = set(session.scalars(select(OutboxMessage.recipient_id)
                               .where(OutboxMessage.dedupe_key.startswith(digest_prefix(today), autoescape=True))))
    admins: dict[int, tuple[Member, list[int]]] = {}
    for member, org_id in session.execute(
            select(Member, Role.organization_id).join(Role, Role.member_id == Member.id)
            .where(Role.role == "上级管理员", Member.status == "active").order_by(Member.id, Role.organization_id)):
        if member.id not in sent:  # planned already (the checkups below are the costly part)
            admins.setdefault(member.id, (member, []))[1].append(org_id)
    if not admins:
        return [], len(sent)
    tree = load_tree(session)
    scopes = {mid: set(branches_under(tree, orgs)) for mid, (_m, orgs) in admins.items()}
    checkups = load_checkups(session, today, set().union(*scopes.values()), tz, tree)
    first = date(today.year, today.month, 1)
    rows = []
    for mid, (member, orgs) in admins.items():
        mine = [c for c in checkups if c.org_id in scopes[mid]]
        if not mine:
            continue
        account = member.wecom_userid or member.dingtalk_userid or f"member-{member.id}"
        rows.append({"dedupe_key": digest_key(today, account), "recipient_id": member.id, "kind": DIGEST_KIND,
                     "organization_id": orgs[0], "due_at": at(today, tz),
                     "content": {"text": digest_text(mine, today), "title": TITLE, "kind": DIGEST_KIND,
                                 "link": CONSOLE_PATH, "link_label": CONSOLE_LABEL},
                     "relevant_until": midnight(add_months(first, 1), tz), "status": "pending", "attempts": 0,
                     "created_at": now})
    return rows, len(sent)


def plan_day(sessions: sessionmaker[Session], today: date, tz: tzinfo = DEFAULT_TZ,
             now: datetime | None = None) -> PlanResult:
    """The scheduler's planning job: the whole day, rows and planner_state, in one transaction."""
    with transaction(sessions) as session:
        return plan(session, today, tz=tz, now=now)
