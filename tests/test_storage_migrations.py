"""`zhibu db upgrade` builds the same schema on SQLite and PostgreSQL, and it matches the models."""
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import head_revision, is_current, make_engine, upgrade
from storage.models import Base

EXPECTED_UNIQUE = {
    "organizations": [{"name"}],
    "roles": [{"member_id", "organization_id", "role"}],
    "committee_terms": [{"organization_id", "elected_on"}],
    "attendances": [{"meeting_id", "member_id"}],
    "dues_rates": [{"member_id", "year"}],
    "dues_payments": [{"member_id", "month"}],
    "outbox": [{"dedupe_key"}],
    "processed_messages": [{"platform", "key"}],
    "conversation_state": [{"member_id", "platform"}],
    "platform_tokens": [{"platform", "app"}],
}


def _schema(engine):
    insp = inspect(engine)
    out = {}
    for table in insp.get_table_names():
        cols = {c["name"] for c in insp.get_columns(table)}
        uniques = [set(u["column_names"]) for u in insp.get_unique_constraints(table)]
        uniques += [set(i["column_names"]) for i in insp.get_indexes(table) if i.get("unique")]
        out[table] = (cols, uniques)
    return out


def test_upgrade_builds_every_table_with_its_unique_keys(any_db_url):
    upgrade(any_db_url)
    engine = make_engine(any_db_url)
    try:
        schema = _schema(engine)
        assert set(Base.metadata.tables) | {"alembic_version"} == set(schema)
        for table, keys in EXPECTED_UNIQUE.items():
            for key in keys:
                assert key in schema[table][1], f"{table} lacks unique {key}"
        assert is_current(engine)
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        # the migration and the models agree (type-level differences of our UTC wrapper aside)
        assert [d for d in diffs if d[0] not in ("modify_type",)] == []
    finally:
        engine.dispose()


def test_upgrade_is_repeatable(any_db_url):
    upgrade(any_db_url)
    upgrade(any_db_url)
    engine = make_engine(any_db_url)
    try:
        assert is_current(engine)
        assert head_revision(any_db_url) is not None
    finally:
        engine.dispose()


def test_sqlite_uses_wal(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_the_heads_read_from_the_files_are_alembics(tmp_path):
    """is_current reads the migration files without alembic (a command's start-up); it must agree with alembic."""
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config, migration_heads

    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert migration_heads() == set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = make_engine(url)
    try:
        assert not is_current(engine)  # nothing there yet
        upgrade(url, "0003")
        assert not is_current(engine)
        upgrade(url)
        assert is_current(engine)
    finally:
        engine.dispose()
