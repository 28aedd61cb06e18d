"""Shared by the delivery tests: a demo database on any backend, outbox rows, and pushers that record or fail."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.messages import Reply
from bot.push import PushResult
from storage.db import transaction
from storage.models import Member, OutboxMessage
from storage.orgs import find_org


class ScriptedPusher:
    """A Pusher whose answers a test chooses; records every call."""

    def __init__(self, platform: str = "wecom", answers: list[PushResult] | None = None,
                 raises: Exception | None = None) -> None:
        self.platform = platform
        self.answers = list(answers or [])
        self.raises = raises
        self.calls: list[tuple[str, str, str]] = []  # (user_id, text, dedupe_key)

    def push(self, user_id: str, reply: Reply, dedupe_key: str) -> PushResult:
        self.calls.append((user_id, reply.as_text(), dedupe_key))
        if self.raises:
            raise self.raises
        return self.answers.pop(0) if self.answers else PushResult(ok=True)


def add_rows(sessions, specs: list[dict]) -> list[int]:
    """specs: {"key", "to" (platform user id), "due" (datetime), optional "until", "text", "kind", "org", "letter"}."""
    rows = []
    with transaction(sessions) as session:
        for spec in specs:
            member = session.scalars(select(Member).where(Member.wecom_userid == spec["to"])).one() \
                if spec.get("to") else None
            org = find_org(session, spec["org"]) if spec.get("org") else None
            content = {"text": spec.get("text", f"提醒 {spec['key']}"), "title": spec.get("title", "提醒"),
                       "kind": spec.get("kind", "test")}
            if spec.get("letter"):
                content["letter"] = True
            row = OutboxMessage(dedupe_key=spec["key"], recipient_id=member.id if member else None,
                                kind=spec.get("kind", "test"), organization_id=org.id if org else None,
                                content=content, due_at=spec["due"], relevant_until=spec.get("until"),
                                status="pending")
            session.add(row)
            rows.append(row)
        session.flush()
        return [row.id for row in rows]


def rows_by_key(sessions) -> dict[str, OutboxMessage]:
    with sessions() as session:
        return {r.dedupe_key: r for r in session.scalars(select(OutboxMessage))}


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def at(clock) -> datetime:
    return clock()
