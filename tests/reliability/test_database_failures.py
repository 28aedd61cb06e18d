"""The database locked or unreachable: the member gets "系统繁忙，请稍后再试", nothing is half-written, and the
platform's retry of the same message is handled once the database is back."""
import sqlite3

import pytest
from sqlalchemy import func, select

from bot.context import Services
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
    assert router.handle(message).duplicate
    engine.dispose()


def test_unreachable_database_answers_busy(segmenter, clock):
    from tests.pg import free_port

    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none?connect_timeout=2"
    router, engine = _router(url, segmenter, clock, busy_ms=200)
    reply = router.handle(Incoming(platform="wecom", user_id="demo-shuji", text="帮助", message_id="down-1"))
    assert reply.text == BUSY
    engine.dispose()
