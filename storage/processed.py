"""The record of handled messages: a message's key, kept so a platform's retry has no second effect and gets the
same answer, and so a captured message cannot be replayed while it is still fresh enough to be handled."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.db import insert_unless_present
from storage.models import ProcessedMessage

_SEEN = ProcessedMessage.__table__
KEY_LENGTH = _SEEN.c.key.type.length
PRUNE_BATCH = 5000  # rows per transaction, so messages arriving meanwhile wait only briefly


def record_message(session: Session, platform: str, key: str, at: datetime) -> int | None:
    """Store the message's key in the session's transaction: its row id, or None when it was already there (a
    retry, or another worker has it). `INSERT … ON CONFLICT DO NOTHING` holds across workers and hosts."""
    dialect = session.get_bind().dialect.name
    return session.execute(
        insert_unless_present(_SEEN, ["platform", "key"], dialect)
        .values(platform=platform, key=key[:KEY_LENGTH], seen_at=at).returning(_SEEN.c.id)).scalar()


def save_reply(session: Session, row_id: int, text: str, private: bool) -> None:
    """Keep the rendered answer beside the key, in the same transaction: a retry is answered with it."""
    session.execute(update(_SEEN).where(_SEEN.c.id == row_id).values(
        reply=json.dumps({"text": text, "private": private}, ensure_ascii=False)))


def stored_reply(session: Session, platform: str, key: str) -> tuple[str, bool] | None:
    """(text, private) of the answer given to a handled message; None while it is still being handled."""
    stored = session.scalar(select(_SEEN.c.reply).where(_SEEN.c.platform == platform,
                                                        _SEEN.c.key == key[:KEY_LENGTH]))
    if not stored:
        return None
    reply = json.loads(stored)
    return str(reply.get("text", "")), bool(reply.get("private"))


def prune_seen(sessions: sessionmaker[Session], now: datetime, keep: timedelta) -> int:
    """Forget message keys older than `keep`, in short transactions; the number of keys removed."""
    oldest = select(_SEEN.c.id).where(_SEEN.c.seen_at < now - keep).limit(PRUNE_BATCH)
    removed = 0
    while True:
        with sessions.begin() as session:
            n = session.execute(delete(_SEEN).where(_SEEN.c.id.in_(oldest.scalar_subquery()))).rowcount
        removed += n
        if n < PRUNE_BATCH:
            return removed
