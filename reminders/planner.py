"""Planning: the rules' Due items become outbox rows, one per recipient, inserted only when absent.

The outbox's unique dedupe key makes a second run (or a second process) a no-op; the database decides, in bulk:
`INSERT OR IGNORE` on SQLite, `INSERT … ON CONFLICT DO NOTHING` on PostgreSQL. Each run leaves a planner_state row.

A day for 10,000 branches is ~180,000 rows (see benchmarks/bench_planning.py). The rules run in batches of branches
and each batch is handed to a writer thread as soon as it is computed, so the database stores rows while Python
computes the next batch: on SQLite in the session's transaction; on PostgreSQL on two connections, so two server
processes insert at once (see `_insert_postgres` for why that stays safe).
"""
from __future__ import annotations

import gc
import json
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session, sessionmaker

from reminders.development_plan import development_dues, with_development
from reminders.rules import TITLES, Due, due_items
from reminders.state import chunked_rows, load_calendar, load_states
from reminders.workdays import Calendar
from storage.db import transaction
from storage.models import OutboxMessage, PlannerState, utcnow

BATCH_ROWS = 10_000  # outbox rows per batch handed to the writer
SQLITE_ROWS = 3000  # rows per SQLite INSERT: few statements, as the writer waits for the GIL after each


@dataclass
class PlanResult:
    planned_for: date
    dues: list[Due]
    new: int
    existing: int

    def summary(self) -> str:
        return f"新增 {self.new} 条，已存在 {self.existing} 条"


def _due_batches(session: Session, today: date,
                 org_ids: Iterable[int] | None = None) -> tuple[Iterator[list[Due]], dict[str, int]]:
    """Every branch's state is read at once; the rules then run lazily, a few hundred branches per batch, so a
    writer can store one batch while the next is computed."""
    calendar = Calendar(load_calendar(session))  # one per run: every branch asks about the same days
    states = load_states(session, today, org_ids)

    def batches() -> Iterator[list[Due]]:
        batch: list[Due] = []
        rows = 0
        for state in states:
            for due in due_items(state, today, calendar):
                batch.append(due)
                rows += len(due.recipients)
            if rows >= BATCH_ROWS:
                yield batch
                batch, rows = [], 0
        if batch:
            yield batch
    return batches(), {s.name: s.org_id for s in states}


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


def content_json(due: Due) -> str:
    """`json.dumps(due.content(), ensure_ascii=False, separators=(",", ":"))`, built from pieces: a run encodes
    one per Due (a hundred thousand on a busy day) and only the text differs between Dues of a kind.
    UTF-8 text rather than \\u escapes: half the size; any JSON reader takes both."""
    letter = ',"letter":true}' if due.letter else "}"
    return f'{{"text":{_encode_str(due.text)}{_CONTENT_TAIL[due.kind]}{letter}'


_encode_str = json.encoder.encode_basestring  # what json.dumps uses for a str when ensure_ascii=False
_CONTENT_TAIL = {kind: f',"title":{_encode_str(title)},"kind":{_encode_str(kind)}' for kind, title in TITLES.items()}


def outbox_rows(dues: Iterable[Due], org_ids: dict[str, int], now: datetime,
                conv: Callable[[datetime], Any]) -> Iterator[tuple]:
    """One tuple per recipient in COLUMNS order, the content as JSON text; `conv` (the driver's form of a time)
    runs once per Due, not once per row."""
    created = conv(now)
    for due in dues:
        content = content_json(due)
        due_at = conv(due.due_at)  # aware: the column's processing stores it as UTC
        until = conv(due.relevant_until)
        kind, org_id, prefix = due.kind, org_ids.get(due.organization), due.key + ":"
        for person in due.recipients:
            yield (prefix + person.account, person.id, kind, org_id, content, due_at, until, "pending", 0, created)


def _time_converter(conn: Connection) -> Callable[[datetime], Any]:
    """The time columns' own bind processing (UTC naive text on SQLite), remembered: a run has thousands of Dues
    but only a few dozen distinct times. The three time columns share one type."""
    proc = OutboxMessage.__table__.c.due_at.type._cached_bind_processor(conn.dialect) or (lambda v: v)
    memo: dict[datetime, Any] = {}

    def convert(value: datetime) -> Any:
        hit = memo.get(value)
        if hit is None:
            hit = memo[value] = proc(value)
        return hit
    return convert


def insert_absent(session: Session, dues: list[Due], org_ids: dict[str, int], now: datetime) -> tuple[int, int]:
    """(inserted, already there) — the unique dedupe key decides, so concurrent planners cannot double-plan."""
    new, total = _insert_batches(session, iter([dues]), org_ids, now)
    return new, total - new


def _insert_batches(session: Session, batches: Iterable[list[Due]], org_ids: dict[str, int],
                    now: datetime) -> tuple[int, int]:
    """(inserted, rows offered) for every batch, inside the session's transaction.

    The rows go straight to the driver, batch by batch, through writer threads (`_Writer`), so the database stores
    one batch while this thread computes the next: multi-row `INSERT OR IGNORE` on SQLite; on PostgreSQL COPY into a
    temporary table and `INSERT … SELECT … ON CONFLICT DO NOTHING`.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return _insert_postgres(session, batches, org_ids, now)
    return _insert_sqlite(conn, batches, org_ids, now)


def _insert_sqlite(conn: Connection, batches: Iterable[list[Due]], org_ids: dict[str, int],
                   now: datetime) -> tuple[int, int]:
    """Rows go in multi-row `INSERT OR IGNORE … VALUES (…), (…), …` statements run by a writer thread: sqlite3 lets
    go of the GIL while a statement runs, so SQLite stores rows while this thread computes the next batch (a
    row-at-a-time executemany would take the GIL back for every row)."""
    convert = _time_converter(conn)
    dbapi = conn.connection.dbapi_connection
    per = max(1, min(SQLITE_ROWS, dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(COLUMNS)))
    row_sql = f"({', '.join('?' * len(COLUMNS))})"
    head = f"INSERT OR IGNORE INTO outbox ({', '.join(COLUMNS)}) VALUES "
    cur = dbapi.cursor()  # inside the session's transaction
    counts: list[int] = []

    def store(rows: list[tuple]) -> None:
        for i in range(0, len(rows), per):
            part = rows[i:i + per]
            cur.execute(head + ", ".join([row_sql] * len(part)), [v for row in part for v in row])
            counts.append(cur.rowcount)  # ignored rows count 0

    total = 0
    writer = _Writer(store).start()
    try:
        for batch in batches:
            rows = list(outbox_rows(batch, org_ids, now, convert))
            total += len(rows)
            writer.put(rows)
    finally:
        error = writer.finish()
        cur.close()
    if error is not None:
        raise error
    return sum(counts), total


def _copy_field(value: Any) -> str:
    """One field of PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if "\\" not in text and "\t" not in text and "\n" not in text and "\r" not in text:
        return text  # the usual case: nothing to escape
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_lines(dues: Iterable[Due], org_ids: dict[str, int], now: datetime) -> Iterator[str]:
    """COPY lines in COLUMNS order; everything but the key and the recipient is formatted once per Due."""
    created = _copy_field(now)
    times: dict[datetime, str] = {}
    for due in dues:
        due_at = times.get(due.due_at) or times.setdefault(due.due_at, _copy_field(due.due_at))
        until = times.get(due.relevant_until) or times.setdefault(due.relevant_until, _copy_field(due.relevant_until))
        tail = "\t".join((_copy_field(due.kind), _copy_field(org_ids.get(due.organization)),
                          _copy_field(content_json(due)), due_at, until, "pending", "0", created))
        prefix = _copy_field(due.key + ":")
        for person in due.recipients:
            yield f"{prefix}{_copy_field(person.account)}\t{person.id}\t{tail}\n"


_TEMP = ("CREATE TEMPORARY TABLE outbox_plan (dedupe_key varchar(300), recipient_id integer, kind varchar(40), "
         "organization_id integer, content json, due_at timestamptz, relevant_until timestamptz, "
         "status varchar(10), attempts integer, created_at timestamptz) ON COMMIT DROP")


PLANNER_LOCK = 0x7A6869627521  # pg_advisory_xact_lock key: one planning run writes at a time


def _insert_postgres(session: Session, batches: Iterable[list[Due]], org_ids: dict[str, int],
                     now: datetime) -> tuple[int, int]:
    """COPY each batch into a temporary table, then `INSERT … SELECT … ON CONFLICT DO NOTHING` it.

    Two server processes share the work: batches alternate between the session's connection and a helper
    connection, each fed by its own writer thread, while this thread computes the next batch. The helper's
    transaction commits just before the session's and rolls back with it (`_Helper`); only a crash between the two
    commits can leave part of a run stored, and the next run (planning catches up by design) adds the rest.
    Planners take turns through an advisory lock held until the session commits, so two runs never wait on each
    other's rows across their two transactions (a deadlock the server could not see).
    """
    conn = session.connection()
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PLANNER_LOCK})")
    cols = ", ".join(COLUMNS)
    # one statement per batch, in the order the rules give the rows, and TRUNCATE to keep the temporary table small
    move = (f"INSERT INTO outbox ({cols}) SELECT {cols} FROM outbox_plan ON CONFLICT (dedupe_key) DO NOTHING; "
            "TRUNCATE outbox_plan")
    inserted: list[list[int]] = []  # per connection: the rows each INSERT stored
    cursors: list[Any] = []

    def storer(dbapi_conn: Any) -> Callable[[str], None]:
        cur = dbapi_conn.cursor()
        cursors.append(cur)
        cur.execute(_TEMP)
        counts: list[int] = []
        inserted.append(counts)

        def store(text: str) -> None:
            with cur.copy(f"COPY outbox_plan ({cols}) FROM STDIN") as copy:
                copy.write(text)
            cur.execute(move)
            counts.append(cur.rowcount)  # the INSERT's count; the TRUNCATE is the second result
        return store

    total = 0
    helper: _Helper | None = None
    writers: list[_Writer] = []
    try:
        for i, batch in enumerate(batches):
            lines = list(_copy_lines(batch, org_ids, now))
            total += len(lines)
            if i == 0:
                writers.append(_Writer(storer(conn.connection.dbapi_connection)).start())
            elif i == 1:  # a second batch: worth a second server process
                helper = _Helper(conn)
                writers.append(_Writer(storer(helper.dbapi_connection)).start())
            writers[i % len(writers)].put("".join(lines))
    except BaseException:
        for w in writers:
            w.finish()
        if helper is not None:
            helper.rollback()
        raise
    errors = [e for e in (w.finish() for w in writers) if e is not None]
    if errors:
        if helper is not None:
            helper.rollback()
        raise errors[0]
    if helper is not None:
        helper.follow(session)
    for cur in cursors:
        cur.execute("DROP TABLE outbox_plan")  # the session may plan again before it commits
        cur.close()
    return sum(sum(counts) for counts in inserted), total


class _Helper:
    """A second connection for the session's planning run: its transaction ends as the session's does.

    It commits in the session's before_commit (so the session's own commit, which releases the planner lock, comes
    last) and rolls back when the session's transaction ends any other way.
    """

    def __init__(self, conn: Connection) -> None:
        self.connection = conn.engine.connect()
        self.connection.begin()
        self.dbapi_connection = self.connection.connection.dbapi_connection
        self._root: Any = None

    def follow(self, session: Session) -> None:
        self._root = session.get_transaction()
        event.listen(session, "before_commit", self._before_commit)
        event.listen(session, "after_transaction_end", self._after_end)

    def _before_commit(self, session: Session) -> None:
        if session.get_transaction() is self._root and not session.in_nested_transaction():
            self.connection.commit()

    def _after_end(self, session: Session, transaction: Any) -> None:
        if transaction is self._root:  # this listener stays, as a no-op: the hook cannot remove itself
            self._root = None
            event.remove(session, "before_commit", self._before_commit)
            self.rollback()

    def rollback(self) -> None:
        """Undo whatever was not committed, and give the connection back."""
        if not self.connection.closed:
            self.connection.rollback()
            self.connection.close()


class _Writer:
    """Runs `store` on each item in a thread of its own, one at a time, in order.

    The thread spends its time waiting for the server (the driver lets go of the GIL while it waits), so the
    server's inserting overlaps the caller's computing. `finish` waits for every item (or the first error); the
    connection is never used by two threads at once, since the caller only computes while the thread writes.
    """

    def __init__(self, store: Callable[[Any], None]) -> None:
        self._store = store
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=2)  # one batch stored, one waiting
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="outbox-writer", daemon=True)

    def start(self) -> _Writer:
        self._thread.start()
        return self

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:  # None: no more items
            if self._error is None:  # after an error the rest are drained, not stored
                try:
                    self._store(item)
                except BaseException as exc:  # handed to the caller
                    self._error = exc

    def put(self, item: Any) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def finish(self) -> BaseException | None:
        """Waits for every item; the first error, if any (the caller decides what to undo before raising it)."""
        self._queue.put(None)
        self._thread.join()
        return self._error


def count_existing(session: Session, keys: list[str]) -> int:
    return len(chunked_rows(session, select(OutboxMessage.dedupe_key), OutboxMessage.dedupe_key, keys))


def plan(session: Session, today: date, *, dry_run: bool = False, now: datetime | None = None,
         org_ids: Iterable[int] | None = None) -> PlanResult:
    """Plan `today` (the caller commits). With dry_run nothing is written; the counts say what would be."""
    now = now or utcnow()
    with _no_gc_pauses():  # one pause-free stretch from reading to writing
        batches, names = _due_batches(session, today, org_ids)
        # 发展党员 (reminders/development_plan.py): read now, before the writers use the connection
        batches = with_development(batches, development_dues(session, today, org_ids))
        dues: list[Due] = []

        def kept() -> Iterator[list[Due]]:
            for batch in batches:
                dues.extend(batch)
                yield batch
        if dry_run:
            keys = [d.row_key(p) for batch in kept() for d in batch for p in d.recipients]
            existing = count_existing(session, keys)
            return PlanResult(today, dues, len(keys) - existing, existing)
        new, total = _insert_batches(session, kept(), names, now)
    session.add(PlannerState(planned_for=today, run_at=now, new_count=new, existing_count=total - new))
    session.flush()
    return PlanResult(today, dues, new, total - new)


def plan_day(sessions: sessionmaker[Session], today: date, now: datetime | None = None) -> PlanResult:
    """The scheduler's planning job: one transaction for the whole day."""
    with transaction(sessions) as session:
        return plan(session, today, now=now)
