"""Statements run on the database driver's own cursor, for the few paths where SQLAlchemy's per-execution work costs
more than the database does: every message's dedupe and speaker lookup (storage.message_gate) and the planner's
bulk reads (reminders.state). Values come back as the driver's tuples, without SQLAlchemy's result processing.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection

IDLE = 0  # libpq's PQTRANS_IDLE (psycopg.pq.TransactionStatus.IDLE), without importing psycopg on SQLite


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled once for one dialect, with its parameters put in the driver's form at execution."""

    sql: str
    bound: dict[str, Any]  # values bound inside the statement itself (an IN list, a literal)
    order: tuple[str, ...] | None  # positional paramstyles (SQLite's qmark); None for named ones (psycopg)
    # known when compiled: asking the cursor (its `description`) costs psycopg an object per column every time
    returns_rows: bool

    @classmethod
    def of(cls, statement, dialect: Dialect) -> DriverStatement:
        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        return cls(compiled.string, compiled.params,
                   tuple(compiled.positiontup) if compiled.positional else None,
                   statement.is_select or bool(compiled.effective_returning))

    def execute(self, cursor, values: dict[str, Any] | None = None) -> None:
        params = {**self.bound, **values} if values else self.bound
        cursor.execute(self.sql, [params[name] for name in self.order] if self.order is not None else params)


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
    statement = "BEGIN IMMEDIATE" if dialect.name == "sqlite" else "BEGIN"
    try:
        driver.driver_connection.execute(statement)
    except dialect.loaded_dbapi.Error as err:
        raise driver_error(err, statement, dialect) from err


def in_transaction(driver_connection, dialect: Dialect) -> bool:
    """Whether a transaction is open on this driver connection (sqlite3's or psycopg's)."""
    if dialect.name == "sqlite":
        return driver_connection.in_transaction
    return driver_connection.info.transaction_status != IDLE
