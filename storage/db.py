"""Engine, sessions and migrations."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Insert, Table, create_engine, event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from storage.driver_sql import begin_on_driver, in_transaction

MIGRATIONS = Path(__file__).with_name("migrations")
# a pooled PostgreSQL connection idle longer than this is pinged before use (a restarted server dropped it)
PING_AFTER_IDLE = 1.0


def make_engine(url: str, busy_timeout_ms: int = 30000, **kwargs) -> Engine:
    # SQL logging (sqlalchemy.engine at INFO) would otherwise print every token, mobile and amount bound
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
                               **kwargs)
        event.listen(engine, "connect", lambda conn, record: _sqlite_pragmas(conn, busy_timeout_ms))
    else:
        from storage.libpq import follow_psycopg_rollbacks  # psycopg: not imported on SQLite

        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", lambda conn, record: setattr(conn, "autocommit", True))
        _ping_when_idle(engine)
        follow_psycopg_rollbacks(engine)
    # both drivers are left in autocommit (sqlite3's isolation_level None, psycopg's autocommit), so neither sends a
    # BEGIN of its own: every transaction opens with begin_on_driver's, from this event or storage.lazy_transaction
    event.listen(engine, "begin", _begin)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pool_pre_ping, only for connections that sat in the pool for PING_AFTER_IDLE.

    The pre-ping costs every message a round trip (SELECT 1) for a check that matters only
    after the server went away, which takes longer than a busy connection's moment back in the pool. A connection
    that failed anyway is thrown away when it comes back (its reset fails), and the member is told to try again.
    """
    def returned(dbapi_connection, record) -> None:
        record.info["returned_at"] = time.monotonic()

    def checkout(dbapi_connection, record, proxy) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE:
            return
        try:
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.rollback()
        except engine.dialect.loaded_dbapi.Error as err:
            raise DisconnectionError() from err  # the pool connects afresh and tries again

    event.listen(engine, "checkin", returned)
    event.listen(engine, "checkout", checkout)


def _sqlite_pragmas(dbapi_conn, busy_timeout_ms: int) -> None:
    dbapi_conn.isolation_level = None  # autocommit at the driver: SQLAlchemy's "begin" event starts transactions
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _begin(conn: Connection) -> None:
    # a transaction begun on the driver (storage.lazy_transaction) is joined, not begun twice
    if not in_transaction(conn.connection.driver_connection, conn.dialect):
        begin_on_driver(conn.connection, conn.dialect)


def insert_unless_present(table: Table, keys: list[str], dialect: str) -> Insert:
    """INSERT … ON CONFLICT (keys) DO NOTHING, for SQLite or PostgreSQL (the two databases the settings admit)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    return dialect_insert(table).on_conflict_do_nothing(index_elements=keys)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(str(engine.url))


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")
