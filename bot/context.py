"""What a handler gets besides the message: the database session, the speaker, the clock, the services."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.messages import Incoming
from bot.roles import RoleSet
from bot.settings import Settings
from storage.audit import record_audit
from storage.lazy_transaction import LazyTransaction
from storage.message_gate import Speaker
from storage.models import ConversationState, Member

if TYPE_CHECKING:
    from bot.intent import Segmenter
    from bot.push import Pusher


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


@dataclass
class Context:
    tx: LazyTransaction  # this message's transaction
    speaker: Speaker  # who sent it, as the router read them
    roles: RoleSet
    incoming: Incoming
    services: Services
    now: datetime  # aware, in the configured time zone
    args: str = ""  # the text after the matched command word
    handlers: tuple = ()  # the router's handlers, for 帮助
    deferred: list[Callable[[], None]] = field(default_factory=list)  # run by the router after the commit
    _member: Member | None = field(default=None, repr=False)

    @property
    def session(self) -> Session:
        """The ORM session, opened on this message's transaction the first time a handler asks."""
        return self.tx.session

    @property
    def member(self) -> Member:
        """The speaker's ORM row, loaded on first use (帮助 needs only `speaker`)."""
        if self._member is None:
            self._member = self.session.get(Member, self.speaker.id)
        return self._member

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def today(self) -> date:
        return self.now.date()

    def audit(self, action: str, target: str | None = None, **detail: Any) -> None:
        record_audit(self.session, action, target, actor=self.member, detail=detail, at=self.now)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once this message's writes are committed (dropped if they are rolled back)."""
        self.deferred.append(action)

    def set_pending(self, kind: str, payload: dict[str, Any], minutes: int = 10) -> None:
        """Remember a pending choice ("reply 1/2/3"); the router hands the answer to the resolver of `kind`."""
        self.clear_pending()
        self.session.add(ConversationState(member_id=self.member.id, platform=self.incoming.platform, kind=kind,
                                           payload=payload, expires_at=self.now + timedelta(minutes=minutes)))

    def clear_pending(self) -> None:
        self.session.execute(delete(ConversationState).where(
            ConversationState.member_id == self.member.id, ConversationState.platform == self.incoming.platform))
