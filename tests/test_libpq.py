"""PostgreSQL's driver statements through libpq (storage.libpq): prepared once per connection, bounded, and kept
in step with psycopg, which drops every prepared statement on a connection when it rolls back there."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError

from storage import libpq
from storage.db import make_engine, make_session_factory
from storage.lazy_transaction import LazyTransaction
from storage.message_gate import MessageGate
from storage.models import Member

AT = datetime(2026, 11, 24, 1, 2, 3, tzinfo=UTC)
USERS = ["demo-shuji", "demo-zuzhi", "demo-dangyuan", "demo-yubei", "demo-shuji2", "demo-dangwei"]


@pytest.fixture
def one_connection(demo, db_url):
    """An engine whose pool holds a single connection, so every layer below uses the same one."""
    if db_url.startswith("sqlite"):
        pytest.skip("libpq is PostgreSQL's")
    engine = make_engine(db_url, pool_size=1, max_overflow=0)
    yield engine, make_session_factory(engine), MessageGate(engine.dialect)
    engine.dispose()


def _admit(engine, sessions, gate, key: str, users: list[str] | None = None) -> dict:
    tx = LazyTransaction(engine, sessions)
    try:
        tx.begin()
        users = users or ["demo-shuji"]
        new, speakers = gate.admit_many(tx, "wecom", [(f"{key}-{i}", u) for i, u in enumerate(users)], AT)
        tx.commit()
    except Exception:
        tx.rollback()  # on the driver, as the router does: psycopg sees no rollback
        raise
    finally:
        tx.close()
    assert new == {f"{key}-{i}" for i in range(len(users))}
    return speakers


def _ours_on_server(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT name FROM pg_prepared_statements WHERE name LIKE 'zhibu%'")).scalars())


def _let_psycopg_prepare(sessions) -> None:
    with sessions() as s:
        for _ in range(6):  # psycopg prepares a statement from its fifth execution
            s.execute(select(Member.id).where(Member.wecom_userid == "demo-shuji")).all()
        s.commit()


def test_the_message_statement_is_prepared_from_its_second_run(one_connection):
    engine, sessions, gate = one_connection
    _admit(engine, sessions, gate, "a")
    assert _ours_on_server(engine) == set()
    for i in range(3):
        assert _admit(engine, sessions, gate, f"b{i}")["demo-shuji"].name
    assert len(_ours_on_server(engine)) == 1


@pytest.mark.parametrize("how", ["session rollback", "connection returned mid-transaction"])
def test_statements_psycopg_drops_on_rollback_are_prepared_again(one_connection, how):
    engine, sessions, gate = one_connection
    for i in range(2):
        _admit(engine, sessions, gate, f"before{i}")
    _let_psycopg_prepare(sessions)
    if how == "session rollback":
        with sessions() as s:
            s.execute(select(Member.id)).all()
            s.rollback()
    else:
        tx = LazyTransaction(engine, sessions)
        tx.begin()
        gate.record(tx, "wecom", "left-open", AT)
        tx.close()  # the pool's reset rolls it back through psycopg
    assert _ours_on_server(engine) == set()  # psycopg's DEALLOCATE ALL took ours too
    for i in range(3):
        assert _admit(engine, sessions, gate, f"after{i}")["demo-shuji"].name
    assert len(_ours_on_server(engine)) == 1


def test_a_statement_dropped_behind_our_back_fails_once_then_is_prepared_again(one_connection):
    engine, sessions, gate = one_connection
    for i in range(2):
        _admit(engine, sessions, gate, f"before{i}")
    driver = engine.raw_connection()
    libpq.command(driver, b"DEALLOCATE ALL")  # as a DDL statement through psycopg would
    driver.close()
    with pytest.raises(ProgrammingError):
        _admit(engine, sessions, gate, "dropped")
    for i in range(3):
        assert _admit(engine, sessions, gate, f"after{i}")["demo-shuji"].name
    assert len(_ours_on_server(engine)) == 1


def test_a_connection_keeps_at_most_max_prepared(one_connection, monkeypatch):
    engine, sessions, gate = one_connection
    monkeypatch.setattr(libpq, "MAX_PREPARED", 3)
    for round_ in range(3):
        for n in range(1, len(USERS) + 1):  # six statement forms, one per batch size
            speakers = _admit(engine, sessions, gate, f"r{round_}-{n}", USERS[:n])
            assert sorted(speakers) == sorted(USERS[:n])
    assert len(_ours_on_server(engine)) == 3


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_a_prepared_statement_sent_with_the_begin_is_inside_the_transaction_with_its_values_intact(
        one_connection, end):
    engine, sessions, gate = one_connection
    for i in range(2):
        _admit(engine, sessions, gate, f"warm{i}")
    assert len(_ours_on_server(engine)) == 1  # from here on the BEGIN goes out with the statement
    key = "msg:it's \\ \"quoted\" 中文 %s $1 ]]>"
    tx = LazyTransaction(engine, sessions)
    tx.begin()
    new, speakers = gate.admit_many(tx, "wecom", [(key, "demo-shuji")], AT)
    assert new == {key} and speakers["demo-shuji"].name
    getattr(tx, end)()
    tx.close()
    tx = LazyTransaction(engine, sessions)
    assert gate.record(tx, "wecom", key, AT) is (end == "rollback")  # new again only if it was rolled back
    tx.close()
