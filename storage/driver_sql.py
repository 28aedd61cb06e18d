"""Statements run on the database driver itself, for the few paths where SQLAlchemy's per-execution work costs
more than the database does: every message's dedupe and speaker lookup (storage.message_gate) and the planner's
bulk reads (reminders.state). Values come back as the driver's tuples, without SQLAlchemy's result processing.

SQLite runs them on sqlite3's cursor; PostgreSQL through libpq (storage.libpq), with the transaction's BEGIN and
its end sent the same way.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Column
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection

IDLE = 0  # libpq's PQTRANS_IDLE (psycopg.pq.TransactionStatus.IDLE), without importing psycopg on SQLite


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled once for one dialect, with positional parameters: ? on SQLite, $1, $2 … on PostgreSQL."""

    sql: str
    bound: dict[str, Any]  # values bound inside the statement itself (an IN list, a literal)
    order: tuple[str, ...]  # the parameters' names, in their positions

    @classmethod
    def of(cls, statement, dialect: Dialect) -> DriverStatement:
        compiled = statement.compile(dialect=_positional(dialect), compile_kwargs={"render_postcompile": True})
        return cls(compiled.string, compiled.params, tuple(compiled.positiontup))

    def args(self, values: dict[str, Any] | None) -> list[Any]:
        params = {**self.bound, **values} if values else self.bound
        return [params[name] for name in self.order]


def run_on_driver(driver: PoolProxiedConnection, dialect: Dialect, work: list[tuple[DriverStatement, dict]],
                  begin: bool = False) -> list[list[tuple]]:
    """Each statement's rows ([] for one that returns none), run one after the other in the connection's
    transaction if one is open. `begin` (PostgreSQL): open the transaction with the first statement, in the same
    round trip. Driver errors are raised as they are (driver_error makes SQLAlchemy's of them)."""
    if dialect.name == "postgresql":
        from storage import libpq

        return [libpq.rows(driver, statement.sql, statement.args(values), begin and i == 0)
                for i, (statement, values) in enumerate(work)]
    out = []
    cursor = driver.cursor()
    try:
        for statement, values in work:
            cursor.execute(statement.sql, statement.args(values))
            out.append(cursor.fetchall())  # [] for a statement without rows
    finally:
        cursor.close()
    return out


def _positional(dialect: Dialect) -> Dialect:
    """The dialect itself (SQLite's ? is positional), or for PostgreSQL one that numbers parameters as libpq takes
    them ($1, $2 …)."""
    return dialect if dialect.name != "postgresql" else _numbered(type(dialect))


@cache
def _numbered(dialect_class: type[Dialect]) -> Dialect:
    # one per dialect class: what it would learn on connecting (the server's version …) does not change how our
    # statements compile
    return dialect_class(paramstyle="numeric_dollar")


def bind_converter(column: Column, dialect: Dialect) -> Callable[[Any], Any]:
    """What the column's type does to a value before the driver sees it (e.g. a UTC time as SQLite text)."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else (lambda value: value)


def driver_error(err: Exception, statement: str, dialect: Dialect) -> DBAPIError:
    """A driver's exception as SQLAlchemy's class for it (OperationalError, IntegrityError …), without parameters."""
    return DBAPIError.instance(statement, None, err, dialect.loaded_dbapi.Error, hide_parameters=True,
                               dialect=dialect)


def begin_on_driver(driver: PoolProxiedConnection, dialect: Dialect) -> None:
    """Begin a transaction on a pooled driver connection, which both engines leave in autocommit (storage.db).

    SQLite: BEGIN IMMEDIATE, so a writer takes the lock at BEGIN and two writers queue on busy_timeout instead of
    failing with "database is locked" when a read lock is upgraded mid-transaction. Sent on the driver, not through
    SQLAlchemy's statement machinery, which costs more than the BEGIN itself, and every message begins one.
    """
    _on_driver(driver, dialect, "BEGIN IMMEDIATE" if dialect.name == "sqlite" else "BEGIN")


def end_on_driver(driver: PoolProxiedConnection, dialect: Dialect, how: str) -> None:
    """COMMIT or ROLLBACK (`how`) the transaction open on the driver connection; nothing when none is open."""
    if in_transaction(driver.driver_connection, dialect):
        _on_driver(driver, dialect, how)


def _on_driver(driver: PoolProxiedConnection, dialect: Dialect, statement: str) -> None:
    try:
        if dialect.name == "postgresql":
            from storage import libpq

            libpq.command(driver, statement.encode())
        else:
            driver.driver_connection.execute(statement)
    except dialect.loaded_dbapi.Error as err:
        raise driver_error(err, statement, dialect) from err


def in_transaction(driver_connection, dialect: Dialect) -> bool:
    """Whether a transaction is open on this driver connection (sqlite3's or psycopg's)."""
    if dialect.name == "sqlite":
        return driver_connection.in_transaction
    return driver_connection.info.transaction_status != IDLE
