"""What every message does before its handler runs: record its key (the dedupe) and read who sent it.

Two statements, compiled once for the engine's dialect and run on the driver (storage.driver_sql) in the message's
transaction (storage.lazy_transaction). On the busiest paths (帮助, 签到) SQLAlchemy's per-statement and per-session
work cost several times what the database does; a handler that needs the ORM opens a session on the same connection.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, sessionmaker

from storage.db import insert_unless_present
from storage.driver_sql import DriverStatement, bind_converter
from storage.lazy_transaction import LazyTransaction
from storage.members import ACCOUNT_COLUMNS, ACTIVE, PLATFORM_ACCOUNTS
from storage.models import ConversationState, Member, ProcessedMessage, Role

_SEEN = ProcessedMessage.__table__
_MEMBERS, _ROLES, _STATES = Member.__table__, Role.__table__, ConversationState.__table__
KEY_LENGTH = _SEEN.c.key.type.length
# a platform re-sends within seconds (WeCom) or minutes (DingTalk Stream): a week of keys is ample
SEEN_RETENTION = timedelta(days=7)
PRUNE_BATCH = 5000  # rows per transaction, so messages arriving meanwhile wait for the write lock only briefly


@dataclass(frozen=True)
class Speaker:
    """The member a message came from, as the gate read them."""

    id: int
    name: str
    organization_id: int
    last_platform: str | None
    roles: frozenset[tuple[str, int]]  # (role, organisation id)
    pending: bool  # a choice ("reply 1/2/3") is waiting for this member on this platform


def _speaker_query(account):
    return (select(_MEMBERS.c.id, _MEMBERS.c.name, _MEMBERS.c.organization_id, _MEMBERS.c.last_platform,
                   _STATES.c.id, _ROLES.c.role, _ROLES.c.organization_id)
            .select_from(_MEMBERS.outerjoin(_ROLES, _ROLES.c.member_id == _MEMBERS.c.id)
                         .outerjoin(_STATES, (_STATES.c.member_id == _MEMBERS.c.id)
                                    & (_STATES.c.platform == bindparam("platform"))))
            .where(account == bindparam("user_id"), _MEMBERS.c.status == bindparam("active")))


class MessageGate:
    def __init__(self, dialect: Dialect) -> None:
        record = insert_unless_present(_SEEN, ["platform", "key"], dialect.name).values(
            platform=bindparam("platform"), key=bindparam("key"), seen_at=bindparam("seen_at"))
        self._record = DriverStatement.of(record, dialect)
        self._seen_at = bind_converter(_SEEN.c.seen_at, dialect)
        self._speaker = {name: DriverStatement.of(_speaker_query(column), dialect)
                         for name, column in ACCOUNT_COLUMNS.items()}

    def record(self, tx: LazyTransaction, platform: str, key: str, at: datetime) -> bool:
        """Store the message's key; False when it was already there (a retry, or another worker has it)."""
        # the changed-row count, not RETURNING: one step of the statement, one less hand-back of the GIL
        return tx.changed(self._record, self._record_values(platform, key, at)) == 1

    def speaker(self, tx: LazyTransaction, platform: str, user_id: str) -> Speaker | None:
        """The active member with this account on this platform, with their roles (one row per role)."""
        for account in PLATFORM_ACCOUNTS.get(platform, ()):
            speaker = _speaker_of(tx.rows(self._speaker[account], self._speaker_values(platform, user_id)))
            if speaker is not None:
                return speaker
        return None

    def admit(self, tx: LazyTransaction, platform: str, key: str, user_id: str, at: datetime
              ) -> tuple[bool, Speaker | None]:
        """`record` and `speaker` together: one round trip on PostgreSQL, where each costs one on its own."""
        accounts = PLATFORM_ACCOUNTS.get(platform, ())
        values = self._speaker_values(platform, user_id)
        (changed, _), *found = tx.together([(self._record, self._record_values(platform, key, at)),
                                            *((self._speaker[account], values) for account in accounts)])
        speakers = (_speaker_of(rows) for _, rows in found)
        return changed == 1, next((s for s in speakers if s is not None), None)

    def _record_values(self, platform: str, key: str, at: datetime) -> dict:
        return {"platform": platform, "key": key[:KEY_LENGTH], "seen_at": self._seen_at(at)}

    @staticmethod
    def _speaker_values(platform: str, user_id: str) -> dict:
        return {"user_id": user_id, "platform": platform, "active": ACTIVE}


def _speaker_of(rows: list[tuple]) -> Speaker | None:
    if not rows:
        return None
    member_id, name, org_id, last_platform, pending, *_ = rows[0]
    return Speaker(member_id, name, org_id, last_platform,
                   frozenset((role, org) for *_, role, org in rows if role is not None), pending is not None)


def prune_seen(sessions: sessionmaker[Session], now: datetime, keep: timedelta = SEEN_RETENTION) -> int:
    """Forget message keys older than `keep`, in short transactions; the number of keys removed."""
    oldest = select(_SEEN.c.id).where(_SEEN.c.seen_at < now - keep).limit(PRUNE_BATCH)
    removed = 0
    while True:
        with sessions() as session, session.begin():
            n = session.execute(delete(_SEEN).where(_SEEN.c.id.in_(oldest.scalar_subquery()))).rowcount
        removed += n
        if n < PRUNE_BATCH:
            return removed
