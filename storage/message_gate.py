"""What every message does before its handler runs: record its key (the dedupe) and read who sent it.

Two statements (one on PostgreSQL) for all the messages of a batch (bot.routing_queue), compiled once per batch size
for the engine's dialect and run on the driver (storage.driver_sql) in the batch's transaction
(storage.lazy_transaction). A single message is a batch of one. On the busiest paths (帮助, 签到) SQLAlchemy's
per-statement and per-session work cost several times what the database does; a handler that needs the ORM opens a
session on the same connection.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, bindparam, delete, func, select, true
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


def _speaker_query(account, n: int):
    """The rows of n users (user_0 …), one per role, each led by the account it matched."""
    return (select(account, _MEMBERS.c.id, _MEMBERS.c.name, _MEMBERS.c.organization_id, _MEMBERS.c.last_platform,
                   _STATES.c.id, _ROLES.c.role, _ROLES.c.organization_id)
            .select_from(_MEMBERS.outerjoin(_ROLES, _ROLES.c.member_id == _MEMBERS.c.id)
                         .outerjoin(_STATES, (_STATES.c.member_id == _MEMBERS.c.id)
                                    & (_STATES.c.platform == bindparam("platform"))))
            .where(account.in_([bindparam(f"user_{i}") for i in range(n)]), _MEMBERS.c.status == bindparam("active")))


class MessageGate:
    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._seen_at = bind_converter(_SEEN.c.seen_at, dialect)
        self._compiled_forms: dict[tuple, DriverStatement] = {}  # by statement and batch size, compiled on first use

    def record(self, tx: LazyTransaction, platform: str, key: str, at: datetime) -> bool:
        """Store the message's key; False when it was already there (a retry, or another worker has it)."""
        return self.is_new(key, self.record_many(tx, platform, [key], at))

    def speaker(self, tx: LazyTransaction, platform: str, user_id: str) -> Speaker | None:
        """The active member with this account on this platform, with their roles."""
        return self.speakers(tx, platform, [user_id]).get(user_id)

    def admit(self, tx: LazyTransaction, platform: str, key: str, user_id: str, at: datetime
              ) -> tuple[bool, Speaker | None]:
        """`record` and `speaker` together (`admit_many` for one message)."""
        new, speakers = self.admit_many(tx, platform, [(key, user_id)], at)
        return self.is_new(key, new), speakers.get(user_id)

    def admit_many(self, tx: LazyTransaction, platform: str, messages: list[tuple[str, str]], at: datetime
                   ) -> tuple[set[str], dict[str, Speaker]]:
        """`record` and `speaker` for several messages (key, user id) of one platform with distinct keys: the keys
        not seen before, and the speakers found by user id.

        On PostgreSQL the keys' INSERT rides in the speakers' SELECT as a CTE: one statement and one round trip.
        """
        keys = [key[:KEY_LENGTH] for key, _ in messages]
        users = list(dict.fromkeys(user for _, user in messages))
        record_values = self._record_many_values(platform, keys, at)
        work = self._speakers_work(platform, users)
        if self._dialect.name != "postgresql" or not work:
            new, *found = tx.together([(self._record_many(len(keys)), record_values), *work])
            return {key for key, in new}, _speakers_of(found)
        account = PLATFORM_ACCOUNTS[platform][0]
        _, values = work[0]
        combined = self._compiled(("admit", account, len(keys), len(users)), lambda: _admit_statement(
            self._record_many_statement(len(keys)), _speaker_query(ACCOUNT_COLUMNS[account], len(users))))
        rows, *found = tx.together([(combined, {**record_values, **values}), *work[1:]])
        new_keys = rows[0][0] or []
        return set(new_keys), _speakers_of([[row[1:] for row in rows if row[1] is not None],
                                            *found])

    def speakers(self, tx: LazyTransaction, platform: str, user_ids: list[str]) -> dict[str, Speaker]:
        """`speaker` for several users of one platform: the speakers found, by user id."""
        work = self._speakers_work(platform, list(dict.fromkeys(user_ids)))
        return _speakers_of(tx.together(work)) if work else {}

    def record_many(self, tx: LazyTransaction, platform: str, keys: list[str], at: datetime) -> set[str]:
        """`record` for several distinct keys: those not seen before."""
        keys = [key[:KEY_LENGTH] for key in keys]
        return {key for key, in tx.rows(self._record_many(len(keys)), self._record_many_values(platform, keys, at))}

    def is_new(self, key: str, new_keys: set[str]) -> bool:
        """Whether a message's key is among those `record_many` or `admit_many` found new."""
        return key[:KEY_LENGTH] in new_keys

    def _compiled(self, key: tuple, build) -> DriverStatement:
        statement = self._compiled_forms.get(key)
        if statement is None:
            statement = self._compiled_forms[key] = DriverStatement.of(build(), self._dialect)
        return statement

    def _record_many_statement(self, n: int):
        rows = [{"platform": bindparam("platform"), "key": bindparam(f"key_{i}"), "seen_at": bindparam("seen_at")}
                for i in range(n)]
        return (insert_unless_present(_SEEN, ["platform", "key"], self._dialect.name).values(rows)
                .returning(_SEEN.c.key))

    def _record_many(self, n: int) -> DriverStatement:
        return self._compiled(("record", n), lambda: self._record_many_statement(n))

    def _record_many_values(self, platform: str, keys: list[str], at: datetime) -> dict:
        return {"platform": platform, "seen_at": self._seen_at(at), **{f"key_{i}": k for i, k in enumerate(keys)}}

    def _speakers_work(self, platform: str, users: list[str]) -> list[tuple[DriverStatement, dict]]:
        """The speaker statements for these users, one per account column the platform is looked up in."""
        values = {"platform": platform, "active": ACTIVE, **{f"user_{i}": u for i, u in enumerate(users)}}
        return [(self._compiled((account, len(users)),
                                lambda a=account: _speaker_query(ACCOUNT_COLUMNS[a], len(users))), values)
                for account in PLATFORM_ACCOUNTS.get(platform, ())]


def _speaker_of(rows: list[tuple]) -> Speaker:
    member_id, name, org_id, last_platform, pending, *_ = rows[0]
    return Speaker(member_id, name, org_id, last_platform,
                   frozenset((role, org) for *_, role, org in rows if role is not None), pending is not None)


def _admit_statement(record, speakers):
    """The INSERT of message keys as a CTE, its new keys as one array beside each speaker row (one row of NULL
    speaker columns when no speaker was found): PostgreSQL's one-statement `admit_many`."""
    new = record.cte("new")
    seen = select(func.array_agg(new.c.key).label("new_keys")).subquery("seen")
    who = speakers.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL).subquery("who")
    return select(seen.c.new_keys, *who.c).select_from(seen.outerjoin(who, true()))


def _speakers_of(row_sets) -> dict[str, Speaker]:
    """Speakers by user id, from the n-user queries' rows (account first), the first account column winning."""
    by_user: dict[str, list[tuple]] = {}
    found: dict[str, Speaker] = {}
    for rows in row_sets:
        by_user.clear()
        for user, *row in rows:
            by_user.setdefault(user, []).append(row)
        for user, user_rows in by_user.items():
            found.setdefault(user, _speaker_of(user_rows))
    return found


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
