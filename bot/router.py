"""The router: one unit of work per message — dedupe, identity, pending choices, roles, then the first handler whose
matcher accepts the text."""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.core import Context, Handler, Incoming, Reply, Services, UserError
from bot.intent import normalize
from bot.roles import RoleSet
from storage.members import find_by_platform_id
from storage.models import ConversationState
from storage.processed import record_message, save_reply, stored_reply

log = logging.getLogger(__name__)
request_log = logging.getLogger("zhibu.requests")

PendingFunc = Callable[[Incoming, Context, dict], Reply]
# a reply for a speaker not in the roster (a person in the 发展党员 pipeline asking about their own progress);
# None: the usual "not registered" reply
GuestFunc = Callable[[Session, Incoming, datetime], Reply | None]

BUSY = "系统繁忙，请稍后再试。"
FAILED = "处理出错了，请稍后再试；如果一直这样，请告诉支部书记。"
MAX_TEXT = 2000  # characters; a longer message is answered briefly and never routed (bounded work per message)
TOO_LONG = f"消息太长了（超过 {MAX_TEXT} 字），请分几条发，或只发要问的那一句。"
FRESH_FOR = timedelta(days=1)  # a message the platform dated further from now than this is a replay: no effect

__all__ = ["BUSY", "FAILED", "Handler", "Router", "not_registered_text", "user_hash"]


def not_registered_text(incoming: Incoming) -> str:
    return (f"你还不在支部助手的党员名单里（账号：{incoming.user_id}）。"
            "请联系所在党支部的书记或组织委员，把你的企业微信或钉钉账号登记进名单后再试。")


class Router:
    def __init__(self, sessions: sessionmaker[Session], services: Services) -> None:
        self.sessions = sessions
        self.services = services
        self.handlers: tuple[Handler, ...] = ()  # a tuple: every message's Context shares it
        self.fallback: Handler | None = None
        self.pending: dict[str, PendingFunc] = {}
        self.guest: GuestFunc | None = None

    # registration -------------------------------------------------------------------------------------------
    def register(self, handler: Handler) -> None:
        if any(h.name == handler.name for h in self.handlers):
            raise ValueError(f"handler {handler.name} registered twice")
        self.handlers = (*self.handlers, handler)

    def register_fallback(self, handler: Handler) -> None:
        """What answers when no handler matched (the knowledge base)."""
        self.fallback = handler

    def register_pending(self, kind: str, func: PendingFunc) -> None:
        self.pending[kind] = func

    def register_guest(self, func: GuestFunc) -> None:
        """What answers a speaker who is not in the roster (read-only), before the "not registered" reply."""
        self.guest = func

    # handling -----------------------------------------------------------------------------------------------
    def process(self, incoming: Incoming) -> Reply:
        """The reply to one message. Never raises: a member sees a short Chinese line, the log gets the traceback.

        Notices the handler queued (outbox rows) are handed to `services.send_notices` once its work is committed.
        """
        started = time.perf_counter()
        trace = {"handler": None, "outcome": "ok"}
        notices: list[int] = []
        try:
            reply = self._transact(incoming, trace, notices)
        except OperationalError:
            log.warning("database busy or unreachable while handling a %s message", incoming.platform, exc_info=True)
            trace["outcome"], reply = "busy", Reply(text=BUSY)
        except Exception:
            log.exception("handler failed on a %s message", incoming.platform)
            trace["outcome"], reply = "error", Reply(text=FAILED)
        else:
            if notices:
                try:
                    self.services.send_notices(notices)
                except Exception:  # they stay in the outbox: the scheduler's dispatcher sends them
                    log.exception("sending notices failed")
        _log_request(incoming, trace, started)
        return reply

    handle = process  # the console's and tests' name for it

    def _transact(self, incoming: Incoming, trace: dict, notices: list[int]) -> Reply:
        now = self.services.clock()
        if not _is_fresh(incoming.received_at, now):
            trace["outcome"] = "stale"  # a captured message replayed after its key could have been pruned
            return Reply.of_duplicate()
        with self.sessions.begin() as session:
            seen = record_message(session, incoming.platform, incoming.message_id, now)
            if seen is None:
                trace["outcome"] = "duplicate"
                earlier = stored_reply(session, incoming.platform, incoming.message_id)
                return Reply(text=earlier[0], private=earlier[1], repeat=True) if earlier else Reply.of_duplicate()
            reply = self._answer(session, incoming, now.astimezone(self.services.settings.tz), trace, notices)
            if not reply.duplicate:
                save_reply(session, seen, reply.as_text(), reply.private)
            return reply

    def _answer(self, session: Session, incoming: Incoming, now: datetime, trace: dict,
                notices: list[int]) -> Reply:
        """The reply to a message seen for the first time, inside its transaction."""
        if len(incoming.text or "") > MAX_TEXT:
            trace["outcome"] = "too_long"
            return Reply(text=TOO_LONG)
        member = find_by_platform_id(session, incoming.platform, incoming.user_id)
        if member is None:
            reply = self.guest(session, incoming, now) if self.guest is not None else None
            if reply is not None:
                trace["outcome"] = "guest"
                return reply
            trace["outcome"] = "not_registered"
            return Reply(text=not_registered_text(incoming))
        if member.last_platform != incoming.platform and incoming.platform != "console":
            member.last_platform = incoming.platform
        ctx = Context(session=session, member=member, roles=RoleSet.of_member(member),
                      incoming=incoming, services=self.services, now=now, handlers=self.handlers)
        try:
            with session.begin_nested():  # bad input undoes the handler's work; the message's key stays
                reply = self._dispatch(ctx, trace)
        except UserError as err:
            trace["outcome"] = "refused"
            return Reply(text=str(err))
        notices.extend(ctx.notices)
        return reply

    def _dispatch(self, ctx: Context, trace: dict) -> Reply:
        incoming = ctx.incoming
        text = normalize(incoming.text)
        ctx.args = text
        pending = self._take_pending(ctx)
        if pending is not None:
            resolver = self.pending.get(pending.kind)
            if resolver is not None and pending.expires_at > ctx.now and _is_choice(text):
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

    @staticmethod
    def _take_pending(ctx: Context) -> ConversationState | None:
        """Any message ends a pending choice; the caller decides whether this one answers it."""
        state = ctx.session.scalar(select(ConversationState).where(
            ConversationState.member_id == ctx.member.id, ConversationState.platform == ctx.incoming.platform))
        if state is not None:
            ctx.session.execute(delete(ConversationState).where(ConversationState.id == state.id))
        return state


def _is_fresh(sent_at: datetime | None, now: datetime) -> bool:
    """A message without a platform timestamp (the console) is always fresh."""
    return sent_at is None or abs(now - sent_at) <= FRESH_FOR


def _log_request(incoming: Incoming, trace: dict, started: float) -> None:
    if request_log.isEnabledFor(logging.INFO):
        request_log.info(json.dumps({
            "platform": incoming.platform, "user": user_hash(incoming.user_id), "handler": trace["handler"],
            "latency_ms": round((time.perf_counter() - started) * 1000, 1), "outcome": trace["outcome"],
        }, ensure_ascii=False))


def user_hash(user_id: str) -> str:
    """Logs carry a short hash, never the account itself."""
    return hashlib.sha256(user_id.encode()).hexdigest()[:12]


def _is_choice(text: str) -> bool:
    return text.isdigit() and 1 <= int(text) <= 9


def _clip(text: str, n: int = 20) -> str:
    return text if len(text) <= n else text[:n] + "…"

