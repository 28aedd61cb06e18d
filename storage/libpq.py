"""PostgreSQL statements sent through psycopg's libpq wrapper (psycopg.pq), for the driver statements of
storage.driver_sql.

psycopg's cursor waits for the server in a loop of Python steps. Each step gives the GIL back and takes it
again, and under load every retake waits behind the request threads; the routing thread, which every message
passes through, pays that on each round trip. PQexecPrepared releases the GIL once for the whole round trip, and
runs no Python while it waits.

Values go in and come out through psycopg's own adapters (psycopg.adapt.Transformer), so they have the types
psycopg's cursor would give. A statement is prepared on its connection from its PREPARE_AFTER-th execution (the
message path's few forms run thousands of times; the planner's bulk reads run once). At most MAX_PREPARED per
connection are kept, so that a connection never holds an unbounded number of them on the server.

psycopg prepares statements of its own, and drops every prepared statement on the connection (DEALLOCATE ALL)
when it rolls back a transaction or runs DDL. `follow_psycopg_rollbacks` (storage.db's engines) marks ours stale
on those rollbacks, and the next use asks the server which are left. A statement gone without such a rollback fails
its execution once (26000), which marks the connection stale the same way.
"""
from __future__ import annotations

from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import PoolProxiedConnection

from storage.driver_sql import in_transaction

PREPARE_AFTER = 2
MAX_PREPARED = 200
MAX_COUNTED = 1000  # statements counted towards PREPARE_AFTER (the planner's one-off reads among them)
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
_INFO_KEY = "zhibu_prepared"  # in the pool's record of the connection, which lives exactly as long as it
_NO_SUCH_STATEMENT = b"26000"  # invalid_sql_statement_name


def command(driver: PoolProxiedConnection, sql: bytes) -> None:
    """A statement without parameters or rows (BEGIN, COMMIT, ROLLBACK)."""
    pgconn = driver.driver_connection.pgconn
    _check(pgconn, pgconn.exec_(sql))


def rows(driver: PoolProxiedConnection, sql: str, args: list[Any], begin: bool = False) -> list[tuple]:
    """The rows of `sql` (its parameters numbered $1, $2 …) run with `args`; [] when it returns none. `begin`: open
    a transaction first, in the same round trip once the statement is prepared."""
    conn = driver.driver_connection
    pgconn = conn.pgconn
    tx = Transformer(conn)
    values = tx.dump_sequence(args, [PyFormat.TEXT] * len(args))
    prepared = driver.info.get(_INFO_KEY)
    if prepared is None:
        prepared = driver.info[_INFO_KEY] = _Prepared()
    name = prepared.name(pgconn, sql, tx.types)
    if name is None:
        if begin:
            command(driver, b"BEGIN")
        result = pgconn.exec_params(sql.encode(), values, tx.types, tx.formats)
    else:
        if begin:  # one simple query, one round trip; the values as quoted literals, cast to the statement's types
            quote = pq.Escaping(pgconn).escape_literal
            literals = b",".join(b"NULL" if v is None else quote(v) for v in values)
            result = pgconn.exec_(b"BEGIN;EXECUTE " + name + (b"(" + literals + b")" if values else b""))
        else:
            result = pgconn.exec_prepared(name, values, tx.formats)
        if result.status not in _OK and result.error_field(pq.DiagnosticField.SQLSTATE) == _NO_SUCH_STATEMENT:
            prepared.stale = True  # dropped behind our back: the next transaction finds out what is left
    _check(pgconn, result)
    tx.set_pgresult(result)  # a statement without rows has none to load
    return tx.load_rows(0, result.ntuples, tuple)


def follow_psycopg_rollbacks(engine: Engine) -> None:
    """psycopg drops every prepared statement on a connection (DEALLOCATE ALL) when it rolls back a transaction
    there: ours are marked stale then, whether SQLAlchemy rolls back or the pool's reset does."""
    def rolled_back(conn: Connection) -> None:
        if in_transaction(conn.connection.driver_connection, conn.dialect):
            _forget_prepared(conn.connection.info)

    def reset(dbapi_connection, record, _reset_state) -> None:
        if in_transaction(dbapi_connection, engine.dialect):
            _forget_prepared(record.info)

    event.listen(engine, "rollback", rolled_back)
    event.listen(engine, "reset", reset)


def _forget_prepared(info: dict) -> None:
    """The server may have dropped what was prepared on this connection (its pool record's `info`): ask it before
    the next use which statements are left."""
    state = info.get(_INFO_KEY)
    if state is not None:
        state.stale = True


class _Prepared:
    """What is prepared on one connection, by (statement, parameter types)."""

    __slots__ = ("names", "counts", "issued", "stale")

    def __init__(self) -> None:
        self.names: dict[tuple, bytes] = {}
        self.counts: dict[tuple, int] = {}  # executions so far of those not prepared yet
        self.issued = 0  # names are never reused on a connection, so one left on the server cannot collide
        self.stale = False

    def name(self, pgconn, sql: str, types) -> bytes | None:
        """The name `sql` is prepared under for these types, preparing it now if it is due; None: not (yet)."""
        if self.stale:
            self._keep_those_left(pgconn)
        key = (sql, tuple(types))
        name = self.names.get(key)
        if name is not None or len(self.names) >= MAX_PREPARED:
            return name
        seen = self.counts.get(key, 0) + 1
        if seen < PREPARE_AFTER:
            if len(self.counts) >= MAX_COUNTED:
                self.counts.clear()  # only a count of executions: losing it delays a prepare, nothing more
            self.counts[key] = seen
            return None
        name = f"zhibu_{self.issued}".encode()
        self.issued += 1
        _check(pgconn, pgconn.prepare(name, sql.encode(), types))
        self.counts.pop(key, None)
        self.names[key] = name
        return name

    def _keep_those_left(self, pgconn) -> None:
        result = pgconn.exec_(b"SELECT name FROM pg_prepared_statements WHERE name LIKE 'zhibu\\_%'")
        _check(pgconn, result)
        left = {result.get_value(row, 0) for row in range(result.ntuples)}
        self.names = {key: name for key, name in self.names.items() if name in left}
        self.stale = False


def _check(pgconn, result) -> None:
    """Raise psycopg's exception for a failed result, the class its SQLSTATE names (as psycopg's cursor would)."""
    if result is not None and result.status in _OK:
        return
    message = (result.error_message if result is not None else pgconn.error_message).decode("utf-8", "replace")
    state = result.error_field(pq.DiagnosticField.SQLSTATE) if result is not None else None
    if not state:  # no answer from the server: the connection failed
        raise psycopg.OperationalError(message.strip() or "connection to the server lost", pgconn=pgconn)
    try:
        cls = psycopg.errors.lookup(state.decode())
    except KeyError:
        cls = psycopg.DatabaseError
    raise cls(message.strip(), info=result, pgconn=pgconn)
