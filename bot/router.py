"""The router: dedupe, identity, pending choices, roles, then the first handler whose matcher accepts the text."""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.context import Context, Services, UserError
from bot.intent import normalize
from bot.messages import Incoming, Reply
from bot.roles import Predicate, RoleSet, any_member
from storage.lazy_transaction import LazyTransaction
from storage.message_gate import MessageGate, Speaker
from storage.models import ConversationState, Member
from storage.writer_lock import WriterLock

log = logging.getLogger(__name__)
request_log = logging.getLogger("zhibu.requests")

HandlerFunc = Callable[[Incoming, Context], Reply]
PendingFunc = Callable[[Incoming, Context, dict], Reply]

BUSY = "系统繁忙，请稍后再试。"

# built once (building a statement costs more than running it on SQLite); the gate has the per-message ones
_SET_LAST_PLATFORM = update(Member.__table__).where(Member.__table__.c.id == bindparam("member_id")).values(
    last_platform=bindparam("platform"))
_STATES = ConversationState.__table__  # Core: the ORM form of this delete would also sync the session's objects
_TAKE_PENDING = delete(_STATES).where(
    _STATES.c.member_id == bindparam("member_id"), _STATES.c.platform == bindparam("platform")
).returning(_STATES.c.kind, _STATES.c.payload, _STATES.c.expires_at)
FAILED = "处理出错了，请稍后再试；如果一直这样，请告诉支部书记。"


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
        if self.match is not None and self.match(text, words()):
            return True, text
        return False, ""


def not_registered_text(incoming: Incoming) -> str:
    return (f"你还不在支部助手的党员名单里（账号：{incoming.user_id}）。"
            "请联系所在党支部的书记或组织委员，把你的企业微信或钉钉账号登记进名单后再试。")


class Router:
    def __init__(self, sessions: sessionmaker[Session], services: Services,
                 writer: WriterLock | None = None) -> None:
        self.sessions = sessions
        self.engine = sessions.kw["bind"]
        self.gate = MessageGate(self.engine.dialect)
        self.services = services
        # every message writes (its processed_messages row): on SQLite, writers queue here (storage.writer_lock)
        self.writer = writer
        self.handlers: tuple[Handler, ...] = ()  # a tuple: every message's Context shares it
        self.fallback: Handler | None = None
        self.pending: dict[str, PendingFunc] = {}

    # registration -------------------------------------------------------------------------------------------
    def register(self, handler: Handler) -> None:
        if any(h.name == handler.name for h in self.handlers):
            raise ValueError(f"handler {handler.name} registered twice")
        self.handlers = (*self.handlers, handler)

    def register_fallback(self, handler: Handler) -> None:
        """What answers when no handler matched (the knowledge base, once it exists)."""
        self.fallback = handler

    def register_pending(self, kind: str, func: PendingFunc) -> None:
        self.pending[kind] = func

    # handling -----------------------------------------------------------------------------------------------
    def handle(self, incoming: Incoming) -> Reply:
        """Never raises: a member sees a short Chinese line, the log gets the traceback."""
        reply, after = self.process(incoming)
        run_after(after)
        return reply

    def process(self, incoming: Incoming) -> tuple[Reply, list[Callable[[], None]]]:
        """`handle` without running what the handler deferred (pushes): the reply, and those actions to run next.

        For a channel that routes in its own thread and runs the pushes elsewhere. Never raises.
        """
        started = time.perf_counter()
        trace = {"handler": None, "outcome": "ok"}
        after: list[Callable[[], None]] = []
        try:
            reply, after = self._transact(incoming, trace)
        except OperationalError:
            log.warning("database busy or unreachable while handling a %s message", incoming.platform, exc_info=True)
            trace["outcome"], reply = "busy", Reply(text=BUSY)
        except Exception:
            log.exception("handler failed on a %s message", incoming.platform)
            trace["outcome"], reply = "error", Reply(text=FAILED)
        _log_request(incoming, trace, started)
        return reply, after

    def process_batch(self, incomings: list[Incoming]) -> list[tuple[Reply, list[Callable[[], None]]]]:
        """`process` for messages that queued up together: the replies to a prefix of them, in order (at least one).

        The prefix is one platform's messages from distinct members. They are handled in one transaction whose
        keys and speakers are one statement each, so BEGIN, COMMIT, the write lock, the pooled connection and the
        lookups are paid once per batch, not per message. If any message fails (bad input, an error, a busy
        database), the whole transaction is rolled back and the messages are handled again each on its own, which
        gives each its own outcome as `process` would. Never raises.
        """
        batch = _distinct_prefix(incomings)
        if len(batch) == 1:
            return [self.process(batch[0])]
        started = time.perf_counter()
        traces = [{"handler": None, "outcome": "ok"} for _ in batch]
        try:
            with self._transaction() as tx, self._admitted(tx, batch) as (new, speakers, seen_at):
                answered = [self._answer(tx, self.gate.is_new(incoming.message_id, new),
                                         speakers.get(incoming.user_id), seen_at, incoming, trace)
                            for incoming, trace in zip(batch, traces, strict=True)]
                tx.commit()
        except Exception:
            return [self.process(incoming) for incoming in batch]
        for incoming, trace in zip(batch, traces, strict=True):
            _log_request(incoming, trace, started)
        return answered

    def _transact(self, incoming: Incoming, trace: dict) -> tuple[Reply, list[Callable[[], None]]]:
        with self._transaction() as tx, self._admitted(tx, [incoming]) as (new, speakers, seen_at):
            return self._in_transaction(tx, self.gate.is_new(incoming.message_id, new),
                                        speakers.get(incoming.user_id), seen_at, incoming, trace)

    @contextmanager
    def _transaction(self) -> Iterator[LazyTransaction]:
        """A transaction on a pooled connection: rolled back if its block raises, given back to the pool after."""
        tx = LazyTransaction(self.engine, self.sessions)
        try:
            yield tx
        except BaseException:
            tx.rollback()
            raise
        finally:
            tx.close()

    @contextmanager
    def _admitted(self, tx: LazyTransaction, batch: list[Incoming]
                  ) -> Iterator[tuple[set[str], dict[str, Speaker], datetime]]:
        """Begin `tx` with the messages' keys recorded: (the keys not seen before, the speakers by user id, the
        time they were seen). Inside the write lock where there is one; the caller ends the transaction."""
        platform = batch[0].platform
        if self.writer is None:
            # no write lock (PostgreSQL): the keys and the speakers in one statement (MessageGate.admit_many)
            tx.begin()
            seen_at = self.services.clock()
            yield *self.gate.admit_many(tx, platform, [(i.message_id, i.user_id) for i in batch], seen_at), seen_at
            return
        # SQLite: who is speaking is read before the write lock is taken. Every driver call lets go of the GIL, and
        # the lock holder then waits for it back while other workers wait for the lock: the fewer calls inside, the
        # shorter the queue. The speaker's ORM row, if a handler wants it, is read inside.
        speakers = self.gate.speakers(tx, platform, [incoming.user_id for incoming in batch])
        with self.writer:
            tx.begin()
            seen_at = self.services.clock()
            yield self.gate.record_many(tx, platform, [i.message_id for i in batch], seen_at), speakers, seen_at

    def _in_transaction(self, tx: LazyTransaction, new: bool, speaker: Speaker | None, seen_at: datetime,
                        incoming: Incoming, trace: dict) -> tuple[Reply, list[Callable[[], None]]]:
        """`_answer`, then the end of this one message's transaction."""
        try:
            reply, after = self._answer(tx, new, speaker, seen_at, incoming, trace)
        except UserError as err:
            trace["outcome"] = "refused"
            # bad input changes nothing but the record that the message was seen
            tx.rollback()
            tx.begin()
            self.gate.record(tx, incoming.platform, incoming.message_id, seen_at)
            tx.commit()
            return Reply(text=str(err)), []
        if new:
            tx.commit()
        else:
            tx.rollback()  # a duplicate wrote nothing
        return reply, after

    def _answer(self, tx: LazyTransaction, new: bool, speaker: Speaker | None, seen_at: datetime,
                incoming: Incoming, trace: dict) -> tuple[Reply, list[Callable[[], None]]]:
        """The reply to an admitted message, inside a transaction its caller ends (UserError is raised through)."""
        if not new:
            trace["outcome"] = "duplicate"
            return Reply.of_duplicate(), []
        if speaker is None:
            trace["outcome"] = "not_registered"
            return Reply(text=not_registered_text(incoming)), []
        if speaker.last_platform != incoming.platform and incoming.platform != "console":
            tx.connection.execute(_SET_LAST_PLATFORM, {"member_id": speaker.id, "platform": incoming.platform})
        ctx = Context(tx=tx, speaker=speaker, roles=RoleSet(speaker.roles), incoming=incoming,
                      services=self.services, now=seen_at.astimezone(self.services.settings.tz),
                      handlers=self.handlers)
        return self._dispatch(ctx, trace), ctx.deferred

    def _dispatch(self, ctx: Context, trace: dict) -> Reply:
        incoming, now = ctx.incoming, ctx.now
        text = normalize(incoming.text)
        ctx.args = text
        if ctx.speaker.pending:
            # any message ends a pending choice; only a bare 1–9 answers it (DELETE … RETURNING is one round trip)
            pending = ctx.tx.connection.execute(
                _TAKE_PENDING, {"member_id": ctx.speaker.id, "platform": incoming.platform}).first()
            if pending is not None:
                resolver = self.pending.get(pending.kind)
                if resolver is not None and pending.expires_at > now and _is_choice(text):
                    trace["handler"] = f"pending:{pending.kind}"
                    return resolver(incoming, ctx, {**pending.payload, "choice": int(text)})

        if not text:
            return Reply(text="请发送文字消息。发送「帮助」看看我能做什么。")
        if _is_choice(text):
            # a bare 1–9 with no question pending: the choice timed out or was already answered
            return Reply(text="现在没有等你选择的问题（可能已超时）。请重新提问，或发送「帮助」看看我能做什么。")
        segmented: list[list[str]] = []

        def words() -> list[str]:  # jieba only for the handlers that match on words, and once
            if not segmented:
                segmented.append(self.services.segmenter.words(text))
            return segmented[0]

        lowered = text.lower()
        for handler in self.handlers:
            accepted, args = handler.accepts(text, lowered, words)
            if not accepted:
                continue
            trace["handler"] = handler.name
            if not handler.allowed(ctx.roles):
                trace["outcome"] = "forbidden"
                who = handler.roles_text or "有相应职务的同志"
                return Reply(text=f"「{handler.commands[0] if handler.commands else handler.name}」只有{who}可以使用。"
                                  "发送「帮助」看看你可以做什么。")
            ctx.args = args
            return handler.func(incoming, ctx)
        if self.fallback is not None:
            trace["handler"] = self.fallback.name
            return self.fallback.func(incoming, ctx)
        return Reply(text=f"没听懂“{_clip(text)}”。发送「帮助」看看我能做什么。")



def run_after(actions: list[Callable[[], None]]) -> None:
    """Run what handlers deferred until their writes were committed (and the write lock was free)."""
    for action in actions:
        try:
            action()
        except Exception:
            log.exception("a deferred push failed")


def _log_request(incoming: Incoming, trace: dict, started: float) -> None:
    if request_log.isEnabledFor(logging.INFO):
        request_log.info(json.dumps({
            "platform": incoming.platform, "user": user_hash(incoming.user_id), "handler": trace["handler"],
            "latency_ms": round((time.perf_counter() - started) * 1000, 1), "outcome": trace["outcome"],
        }, ensure_ascii=False))


def user_hash(user_id: str) -> str:
    """Logs carry a short hash, never the account itself."""
    return hashlib.sha256(user_id.encode()).hexdigest()[:12]


def _distinct_prefix(incomings: list[Incoming]) -> list[Incoming]:
    """The leading messages of one platform with no member or key twice (a member's second message must see what
    the first one did; a key twice is a re-send, found a duplicate only once the first is recorded)."""
    users: set[str] = set()
    keys: set[str] = set()
    for n, incoming in enumerate(incomings):
        if (incoming.platform != incomings[0].platform or incoming.user_id in users
                or incoming.message_id in keys):
            return incomings[:n]
        users.add(incoming.user_id)
        keys.add(incoming.message_id)
    return incomings


def _is_choice(text: str) -> bool:
    return text.isdigit() and 1 <= int(text) <= 9


def _clip(text: str, n: int = 20) -> str:
    return text if len(text) <= n else text[:n] + "…"
