"""The small API a handler is written against: Handler, Context, UserError, and the messages (Incoming, Reply).

Handlers import this module and `storage`, nothing else of the bot: no web framework, no channel, no driver.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.messages import Attachment, Button, Card, FileRef, Incoming, Reply
from bot.roles import Predicate, RoleSet, any_member
from bot.settings import Settings
from storage.audit import record_audit
from storage.db import insert_unless_present
from storage.models import ConversationState, Member, OutboxMessage

if TYPE_CHECKING:
    from bot.files import FileService
    from bot.intent import Segmenter
    from bot.push import Pusher

__all__ = ["Attachment", "Button", "Card", "Context", "FileRef", "Handler", "Incoming", "Reply", "Services", "UserError"]

NOTICE_KIND = "notice"
NOTICE_LIFETIME = timedelta(days=1)  # a notice about a message that nobody could deliver for a day is stale


class UserError(Exception):
    """Bad input from a member: the message is the reply, and everything the handler wrote is rolled back."""


@dataclass
class Services:
    """Long-lived objects built once by the app factory or the CLI and handed down (no module globals)."""

    settings: Settings
    segmenter: Segmenter
    clock: Callable[[], datetime]
    pushers: dict[str, Pusher] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)  # capability-specific objects (knowledge base, …)
    files: FileService | None = None  # builds and delivers the files replies promise (bot.files), after the message
    # sends the notices (outbox row ids) a message's handler queued, once its transaction has committed
    send_notices: Callable[[list[int]], None] = lambda ids: None


HandlerFunc = Callable[[Incoming, "Context"], Reply]


@dataclass(frozen=True, eq=False)  # hashed by identity: 帮助's menu is cached per (handlers, roles)
class Handler:
    name: str
    func: HandlerFunc
    commands: tuple[str, ...] = ()  # the text starts with one of these words (after normalisation)
    keywords: tuple[frozenset[str], ...] = ()  # or its jieba words contain every word of one of these sets
    match: Callable[[str, list[str]], bool] | None = None  # or this returns True
    allowed: Predicate = any_member
    roles_text: str = ""  # who may use it, said when someone else tries
    summary: str = ""  # one line for 帮助
    example: str = ""
    section: str = "党员"  # which part of 帮助 lists it

    def __post_init__(self) -> None:
        # longest first, lowered once: every message is tried against every handler
        object.__setattr__(self, "_prefixes", tuple(sorted((c.lower() for c in self.commands), key=len, reverse=True)))

    def accepts(self, text: str, lowered: str, words: Callable[[], list[str]]) -> tuple[bool, str]:
        """(accepted, the text after the command word). `words()` segments the text, only when a matcher needs it."""
        for cmd in self._prefixes:
            if lowered.startswith(cmd):
                return True, text[len(cmd):].strip()
        # a jieba word is a piece of the text: a keyword set whose words are not all in the text cannot match
        if any(all(k in text for k in ks) for ks in self.keywords):
            wordset = set(words())
            if any(ks <= wordset for ks in self.keywords):
                return True, text
        if self.match is not None and self.match(text, LazyWords(words)):
            return True, text
        return False, ""


class LazyWords(Sequence):
    """The message's jieba words, segmented only if a matcher looks at them (most never do, and the dictionary
    costs about a second to load in a fresh process)."""

    def __init__(self, words: Callable[[], list[str]]) -> None:
        self._words = words

    def __getitem__(self, index):
        return self._words()[index]

    def __len__(self) -> int:
        return len(self._words())


@dataclass
class Context:
    session: Session  # this message's unit of work: committed by the router, rolled back on UserError
    member: Member  # who sent it
    roles: RoleSet
    incoming: Incoming
    services: Services
    now: datetime  # aware, in the configured time zone
    args: str = ""  # the text after the matched command word
    handlers: tuple = ()  # the router's handlers, for 帮助
    notices: list[int] = field(default_factory=list)  # outbox rows to send once the transaction commits

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def today(self) -> date:
        return self.now.date()

    def audit(self, action: str, target: str | None = None, **detail: Any) -> None:
        record_audit(self.session, action, target, actor=self.member, detail=detail, at=self.now)

    def notify(self, member: Member, text: str, key: str, *, title: str | None = None) -> None:
        """Tell someone other than the asker: an outbox row in this message's transaction, sent after it commits
        through the dispatcher (retries, rate limits, unreachable members, the platforms' duplicate guards).
        `key` names what the notice is about; the same key for the same person is sent once."""
        content: dict[str, Any] = {"text": text, "kind": NOTICE_KIND}
        if title:
            content["title"] = title
        dialect = self.session.get_bind().dialect.name
        row_id = self.session.execute(
            insert_unless_present(OutboxMessage.__table__, ["dedupe_key"], dialect).values(
                dedupe_key=f"{NOTICE_KIND}:{key}:{member.id}"[:300], recipient_id=member.id, kind=NOTICE_KIND,
                organization_id=member.organization_id, content=content, due_at=self.now,
                relevant_until=self.now + NOTICE_LIFETIME, status="pending", attempts=0, created_at=self.now)
            .returning(OutboxMessage.id)).scalar()
        if row_id is not None:
            self.notices.append(row_id)

    def file(self, purpose: str, params: dict[str, Any], filename: str) -> FileRef:
        """A file for the asker, built and sent after this message's transaction (bot.files.FILE_MAKERS[purpose])."""
        return FileRef(purpose=purpose, params=params, filename=filename, member_id=self.member.id)

    def set_pending(self, kind: str, payload: dict[str, Any], minutes: int = 10) -> None:
        """Remember a pending choice ("reply 1/2/3"); the router hands the answer to the resolver of `kind`."""
        self.clear_pending()
        self.session.add(ConversationState(member_id=self.member.id, platform=self.incoming.platform, kind=kind,
                                           payload=payload, expires_at=self.now + timedelta(minutes=minutes)))

    def clear_pending(self) -> None:
        self.session.execute(delete(ConversationState).where(
            ConversationState.member_id == self.member.id, ConversationState.platform == self.incoming.platform))
