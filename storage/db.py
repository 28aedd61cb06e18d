"""Engine, sessions and migrations."""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Insert, Table, create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
PSYCOPG_PREPARE_THRESHOLD = 5  # psycopg's own default: a statement run this often on a connection is prepared


def make_engine(url: str, busy_timeout_ms: int = 30000, prepare_threshold: int | None = PSYCOPG_PREPARE_THRESHOLD,
                **kwargs) -> Engine:
    """An engine for SQLite or PostgreSQL.

    `prepare_threshold` is psycopg's: None turns server-side prepared statements off, which a transaction-mode
    pooler (PgBouncer, a cloud proxy) needs.
    """
    # SQL logging (sqlalchemy.engine at INFO) would otherwise print every token, mobile and amount bound
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
                               **kwargs)
        _sqlite_transactions(engine, busy_timeout_ms)
        return engine
    kwargs.setdefault("pool_pre_ping", True)  # a connection a restarted server dropped is replaced, not handed out
    connect_args = {**kwargs.pop("connect_args", {}), "prepare_threshold": prepare_threshold}
    return create_engine(url, connect_args=connect_args, **kwargs)


def _sqlite_transactions(engine: Engine, busy_timeout_ms: int) -> None:
    """SQLAlchemy's pysqlite recipe: the driver's own transaction handling off, BEGIN IMMEDIATE from the engine.

    pysqlite would otherwise begin late and never for SAVEPOINTs. IMMEDIATE takes the write lock at the start, so two
    transactions that read and then write wait for each other (busy_timeout) instead of one failing at its first
    write; nearly every transaction here writes (each message records its key).
    """
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, record) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn) -> None:
        # a read-only unit of work (make_read_session_factory) begins DEFERRED: under WAL it never takes the write lock
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def insert_unless_present(table: Table, keys: list[str], dialect: str) -> Insert:
    """INSERT … ON CONFLICT (keys) DO NOTHING, for SQLite or PostgreSQL (the two databases the settings admit)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    return dialect_insert(table).on_conflict_do_nothing(index_elements=keys)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


READ_ONLY = "zhibu_read_only"


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for work that only reads (building an export): on SQLite their transactions begin DEFERRED, so they
    neither wait for nor hold the write lock every message takes. Same pool as the engine's."""
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


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


_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+?)\s*(?:#.*)?$", re.M)


def migration_heads(versions: Path = MIGRATIONS / "versions") -> set[str]:
    """The head revisions, read from the `revision` and `down_revision` lines of the migration files without
    importing alembic (which, with its templates, costs a command's start-up a few hundred milliseconds).
    tests/test_storage_migrations.py checks that this agrees with alembic's own ScriptDirectory."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        fields = {name: ast.literal_eval(value) for name, value in _REVISION_LINE.findall(path.read_text("utf-8"))}
        if "revision" not in fields:
            continue
        revisions.add(fields["revision"])
        down = fields.get("down_revision")
        parents.update([down] if isinstance(down, str) else down or ())
    return revisions - parents


def is_current(engine: Engine) -> bool:
    """The database is at the head of the migrations (alembic_version read with a plain query)."""
    try:
        with engine.connect() as conn:
            stamped = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except (OperationalError, ProgrammingError):
        return False  # no alembic_version table yet
    return stamped == migration_heads()


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")
