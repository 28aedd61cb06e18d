"""A message's transaction (storage.lazy_transaction) and the statements every message runs (storage.message_gate).

They run on the driver under SQLAlchemy's layers, so these check on both databases what the ORM used to guarantee:
one transaction across the layers, rollback of all of them, SQLAlchemy's exception classes, and the same stored
values as the ORM writes.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine, make_session_factory, transaction
from storage.driver_sql import DriverStatement, bind_converter
from storage.lazy_transaction import LazyTransaction
from storage.message_gate import KEY_LENGTH, PRUNE_BATCH, MessageGate, prune_seen
from storage.models import AuditLog, ConversationState, Member, ProcessedMessage, Role

AT = datetime(2026, 11, 24, 1, 2, 3, 456789, tzinfo=UTC)


@pytest.fixture
def db(demo):
    return demo.engine, demo.sessions, MessageGate(demo.engine.dialect)


def _begun(engine, sessions) -> LazyTransaction:
    tx = LazyTransaction(engine, sessions)
    tx.begin()
    return tx


def _count(sessions, model, *where) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _raw_insert(engine) -> tuple[DriverStatement, dict]:
    """A driver INSERT of a message key, and one row for it with a fixed primary key (to collide on)."""
    seen_at = bind_converter(ProcessedMessage.__table__.c.seen_at, engine.dialect)
    return (DriverStatement.of(ProcessedMessage.__table__.insert(), engine.dialect),
            {"id": 10**6, "platform": "wecom", "key": "a", "seen_at": seen_at(AT)})


def _member_id(sessions, account: str) -> int:
    with sessions() as s:
        return s.scalar(select(Member.id).where(Member.wecom_userid == account))


def test_a_key_is_recorded_once_with_the_time_the_orm_would_store(db):
    engine, sessions, gate = db
    tx = _begun(engine, sessions)
    assert gate.record(tx, "wecom", "msg:1", AT) is True
    assert gate.record(tx, "wecom", "msg:1", AT) is False  # the same key again, even in one transaction
    assert gate.record(tx, "dingtalk", "msg:1", AT) is True  # keys are per platform
    tx.commit()
    tx.close()
    with sessions() as s:
        row = s.scalars(select(ProcessedMessage).where(ProcessedMessage.platform == "wecom")).one()
    assert (row.key, row.seen_at) == ("msg:1", AT)  # read back through the ORM type: aware, to the microsecond


def test_a_long_key_is_cut_to_the_column(db):
    engine, sessions, gate = db
    tx = _begun(engine, sessions)
    assert gate.record(tx, "wecom", "k" * (KEY_LENGTH + 50), AT)
    assert not gate.record(tx, "wecom", "k" * (KEY_LENGTH + 10), AT)  # the same first KEY_LENGTH characters
    tx.commit()
    tx.close()


def _shuji_with_a_second_role_and_a_pending_choice(sessions) -> int:
    shuji = _member_id(sessions, "demo-shuji")
    with transaction(sessions) as s:
        s.add(Role(member_id=shuji, organization_id=s.get(Member, shuji).organization_id, role="党费管理员"))
        s.add(ConversationState(member_id=shuji, platform="wecom", kind="k", payload={}, expires_at=AT))
    return shuji


def test_speaker_carries_roles_and_a_pending_choice(db):
    engine, sessions, gate = db
    shuji = _shuji_with_a_second_role_and_a_pending_choice(sessions)
    tx = _begun(engine, sessions)
    speaker = gate.speaker(tx, "wecom", "demo-shuji")
    assert (speaker.id, speaker.name) == (shuji, "王建国")
    assert {r for r, _ in speaker.roles} == {"书记", "党费管理员"}
    assert speaker.pending is True
    assert gate.speaker(tx, "dingtalk", "demo-shuji").pending is False  # the choice waits on WeCom only
    assert gate.speaker(tx, "wecom", "demo-dangyuan").roles == frozenset()
    assert gate.speaker(tx, "wecom", "nobody") is None
    tx.rollback()
    tx.close()


def test_the_console_tries_the_wecom_account_then_the_dingtalk_one(db):
    engine, sessions, gate = db
    with transaction(sessions) as s:
        s.scalars(select(Member).where(Member.wecom_userid == "demo-zuzhi")).one().dingtalk_userid = "ding-zuzhi"
    tx = _begun(engine, sessions)
    assert gate.speaker(tx, "console", "ding-zuzhi").name == "李红梅"
    assert gate.speaker(tx, "wecom", "ding-zuzhi") is None
    tx.rollback()
    tx.close()


def test_admit_records_the_key_and_reads_the_speaker_in_one_go(db):
    engine, sessions, gate = db
    shuji = _member_id(sessions, "demo-shuji")
    tx = _begun(engine, sessions)
    new, speaker = gate.admit(tx, "wecom", "msg:admit", "demo-shuji", AT)
    assert new is True and (speaker.id, speaker.name) == (shuji, "王建国") and ("书记", speaker.organization_id) in \
        speaker.roles
    again, same = gate.admit(tx, "wecom", "msg:admit", "demo-shuji", AT)  # the key again: seen, speaker still read
    assert again is False and same == speaker
    assert gate.admit(tx, "wecom", "msg:nobody", "nobody", AT) == (True, None)
    tx.commit()
    tx.close()
    assert _count(sessions, ProcessedMessage, ProcessedMessage.key.in_(["msg:admit", "msg:nobody"])) == 2


def test_admit_on_the_console_finds_a_dingtalk_account(db):
    engine, sessions, gate = db
    with transaction(sessions) as s:
        s.scalars(select(Member).where(Member.wecom_userid == "demo-zuzhi")).one().dingtalk_userid = "ding-zuzhi"
    tx = _begun(engine, sessions)
    new, speaker = gate.admit(tx, "console", "c:1", "ding-zuzhi", AT)
    assert new and speaker.name == "李红梅"
    tx.rollback()
    tx.close()
    assert _count(sessions, ProcessedMessage, ProcessedMessage.key == "c:1") == 0  # rolled back with the rest


def test_speakers_of_several_members_are_those_read_one_by_one(db):
    engine, sessions, gate = db
    _shuji_with_a_second_role_and_a_pending_choice(sessions)
    users = ["demo-dangyuan", "demo-shuji", "nobody", "demo-yubei", "demo-shuji2"]
    tx = _begun(engine, sessions)
    many = gate.speakers(tx, "wecom", users)
    assert many == {u: gate.speaker(tx, "wecom", u) for u in users if u != "nobody"}
    assert many["demo-shuji"].pending and {r for r, _ in many["demo-shuji"].roles} == {"书记", "党费管理员"}
    tx.rollback()
    tx.close()


def test_several_keys_at_once_report_those_not_seen_before(db):
    engine, sessions, gate = db
    long_key = "x" * (KEY_LENGTH + 10)
    tx = _begun(engine, sessions)
    assert gate.record(tx, "wecom", "msg:old", AT)
    new = gate.record_many(tx, "wecom", ["msg:old", "msg:a", long_key], AT)
    assert not gate.is_new("msg:old", new) and gate.is_new("msg:a", new) and gate.is_new(long_key, new)
    assert gate.record_many(tx, "dingtalk", ["msg:old"], AT) == {"msg:old"}  # keys are per platform
    tx.commit()
    tx.close()
    assert _count(sessions, ProcessedMessage) == 4


def test_admit_many_records_and_reads_together_on_the_console_too(db):
    engine, sessions, gate = db
    with transaction(sessions) as s:
        s.scalars(select(Member).where(Member.wecom_userid == "demo-zuzhi")).one().dingtalk_userid = "ding-zuzhi"
    tx = _begun(engine, sessions)
    new, speakers = gate.admit_many(tx, "console", [("c:1", "ding-zuzhi"), ("c:2", "demo-shuji"), ("c:3", "x")], AT)
    assert {k for k in ("c:1", "c:2", "c:3") if gate.is_new(k, new)} == {"c:1", "c:2", "c:3"}
    assert {u: sp.name for u, sp in speakers.items()} == {"ding-zuzhi": "李红梅", "demo-shuji": "王建国"}
    again, _ = gate.admit_many(tx, "console", [("c:1", "ding-zuzhi"), ("c:4", "x")], AT)
    assert again == {"c:4"}
    tx.rollback()
    tx.close()
    assert _count(sessions, ProcessedMessage) == 0


def test_statements_sent_together_fail_as_one_sqlalchemy_error_and_roll_back(db):
    engine, sessions, _gate = db
    insert, row = _raw_insert(engine)
    tx = _begun(engine, sessions)
    with pytest.raises(IntegrityError):  # the second reuses the first's primary key
        tx.together([(insert, row), (insert, {**row, "key": "b"})])
    tx.rollback()
    tx.close()
    assert _count(sessions, ProcessedMessage, ProcessedMessage.id == 10**6) == 0


def test_a_member_who_left_is_not_a_speaker(db):
    engine, sessions, gate = db
    with transaction(sessions) as s:
        s.scalars(select(Member).where(Member.wecom_userid == "demo-yubei")).one().status = "left"
    tx = _begun(engine, sessions)
    assert gate.speaker(tx, "wecom", "demo-yubei") is None
    tx.rollback()
    tx.close()


def test_driver_core_and_orm_writes_commit_together(db):
    engine, sessions, gate = db
    tx = _begun(engine, sessions)
    gate.record(tx, "wecom", "together", AT)
    tx.connection.execute(ProcessedMessage.__table__.insert(), {"platform": "wecom", "key": "core", "seen_at": AT})
    tx.session.add(AuditLog(action="test", actor="测试", at=AT))
    tx.commit()
    tx.close()
    assert _count(sessions, ProcessedMessage, ProcessedMessage.key.in_(["together", "core"])) == 2
    assert _count(sessions, AuditLog, AuditLog.action == "test") == 1


@pytest.mark.parametrize("layers", ["driver", "connection", "session"])
def test_rollback_undoes_every_layer(db, layers):
    engine, sessions, gate = db
    tx = _begun(engine, sessions)
    gate.record(tx, "wecom", "undone", AT)
    if layers in ("connection", "session"):
        tx.connection.execute(ProcessedMessage.__table__.insert(), {"platform": "wecom", "key": "c", "seen_at": AT})
    if layers == "session":
        tx.session.add(AuditLog(action="test", actor="测试", at=AT))
        tx.session.flush()
    tx.rollback()
    tx.close()
    assert _count(sessions, ProcessedMessage, ProcessedMessage.key.in_(["undone", "c"])) == 0
    assert _count(sessions, AuditLog, AuditLog.action == "test") == 0


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_a_transaction_opened_by_the_orm_takes_the_later_driver_statements_in(db, end):
    """Driver statements after the ORM's join its transaction (on PostgreSQL the driver is in autocommit: a
    statement sent outside the transaction would stay written after a rollback)."""
    engine, sessions, gate = db
    tx = _begun(engine, sessions)
    tx.session.add(AuditLog(action="orm-first", actor="测试", at=AT))
    tx.session.flush()
    gate.record(tx, "wecom", "after-orm", AT)
    getattr(tx, end)()
    tx.close()
    kept = 1 if end == "commit" else 0
    assert _count(sessions, ProcessedMessage, ProcessedMessage.key == "after-orm") == kept
    assert _count(sessions, AuditLog, AuditLog.action == "orm-first") == kept


def test_a_new_transaction_after_a_rollback_keeps_only_its_own_writes(db):
    """The router's refused-input path: everything rolled back, then only the message's key recorded."""
    engine, sessions, gate = db
    tx = _begun(engine, sessions)
    gate.record(tx, "wecom", "refused", AT)
    tx.session.add(AuditLog(action="test", actor="测试", at=AT))
    tx.session.flush()
    tx.rollback()
    tx.begin()
    gate.record(tx, "wecom", "refused", AT)
    tx.commit()
    tx.close()
    assert _count(sessions, ProcessedMessage, ProcessedMessage.key == "refused") == 1
    assert _count(sessions, AuditLog, AuditLog.action == "test") == 0


def test_driver_errors_surface_as_sqlalchemy_classes(db):
    engine, sessions, _gate = db
    insert, row = _raw_insert(engine)
    tx = _begun(engine, sessions)
    tx.rows(insert, row)
    with pytest.raises(IntegrityError):  # the same primary key
        tx.rows(insert, {**row, "key": "b"})
    tx.rollback()
    tx.close()


def test_prune_forgets_only_old_keys_in_batches(db):
    engine, sessions, _gate = db
    now = datetime(2026, 11, 24, tzinfo=UTC)
    old = PRUNE_BATCH + 7  # more than one batch
    with transaction(sessions) as s:
        s.execute(ProcessedMessage.__table__.insert(), [
            {"platform": "wecom", "key": f"old{i}", "seen_at": now - timedelta(days=8)} for i in range(old)])
        s.execute(ProcessedMessage.__table__.insert(), [
            {"platform": "wecom", "key": f"new{i}", "seen_at": now - timedelta(days=6)} for i in range(3)])
    assert prune_seen(sessions, now) == old
    assert _count(sessions, ProcessedMessage) == 3
    assert prune_seen(sessions, now) == 0


def test_a_retry_within_the_week_is_still_recognised_after_pruning(db):
    """Within the week a retry is still recognised; that is what the retention must cover."""
    engine, sessions, gate = db
    now = datetime(2026, 11, 24, tzinfo=UTC)
    tx = _begun(engine, sessions)
    gate.record(tx, "wecom", "msg:7", now - timedelta(days=6, hours=23))
    tx.commit()
    tx.close()
    prune_seen(sessions, now)
    tx = _begun(engine, sessions)
    assert gate.record(tx, "wecom", "msg:7", now) is False
    tx.rollback()
    tx.close()


def test_an_unreachable_database_is_an_operational_error(tmp_path):
    from sqlalchemy.exc import OperationalError

    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'zhibu.db'}")
    with pytest.raises(OperationalError):
        _begun(engine, make_session_factory(engine))
    engine.dispose()
