"""The database locked or unreachable: the member gets "系统繁忙，请稍后再试", nothing is half-written, and the
platform's retry of the same message is handled once the database is back."""
import sqlite3

import pytest
from sqlalchemy import func, select, text

from bot.core import Services
from bot.messages import Incoming
from bot.router import BUSY, Router
from handlers import register_all
from storage.db import make_engine, make_session_factory, transaction
from storage.models import AuditLog, ProcessedMessage
from tests.conftest import make_settings


def _router(url, segmenter, clock, busy_ms):
    engine = make_engine(url, busy_timeout_ms=busy_ms)
    router = Router(make_session_factory(engine), Services(settings=make_settings(url), segmenter=segmenter,
                                                           clock=clock))
    register_all(router)
    return router, engine


def test_locked_sqlite_answers_busy_then_the_retry_succeeds(demo, db_url, segmenter, clock):
    if not db_url.startswith("sqlite"):
        pytest.skip("a file lock is SQLite's; PostgreSQL has row locks")
    router, engine = _router(db_url, segmenter, clock, busy_ms=200)
    message = Incoming(platform="wecom", user_id="demo-shuji", text="设置 参与率下限 85%", message_id="lock-1")
    locker = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        assert router.handle(message).text == BUSY
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(ProcessedMessage).where(ProcessedMessage.key == "lock-1")) == 0
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "org.set")) == 0
    retried = router.handle(message)  # the platform retries the same message id
    assert "已修改" in retried.text
    assert router.handle(message).repeat  # answered again, not handled again
    engine.dispose()


def test_unreachable_database_answers_busy(segmenter, clock):
    from tests.pg import free_port

    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none?connect_timeout=2"
    router, engine = _router(url, segmenter, clock, busy_ms=200)
    reply = router.handle(Incoming(platform="wecom", user_id="demo-shuji", text="帮助", message_id="down-1"))
    assert reply.text == BUSY
    engine.dispose()


def _drop_connection_of(engine, demo) -> None:
    """End the engine's pooled connection on the server's side, as a PostgreSQL restart does."""
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with demo.engine.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        admin.commit()


def _ask_help(router, message_id: str):
    return router.handle(Incoming(platform="wecom", user_id="demo-shuji", text="帮助", message_id=message_id))


def test_a_postgresql_connection_dropped_in_the_pool_is_replaced_before_use(demo, db_url, segmenter, clock):
    if db_url.startswith("sqlite"):
        pytest.skip("pooled server connections are PostgreSQL's")
    router, engine = _router(db_url, segmenter, clock, busy_ms=200)
    assert "看看我能做什么" in _ask_help(router, "idle-1").text
    _drop_connection_of(engine, demo)
    assert "看看我能做什么" in _ask_help(router, "idle-2").text  # pool_pre_ping found it dead: connected afresh
    engine.dispose()
