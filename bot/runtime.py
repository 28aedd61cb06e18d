"""Builds the long-lived objects once per process and hands them down: no module-level singletons."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.context import Services
from bot.intent import Segmenter
from bot.log_redact import redact_library_logs
from bot.push import ConsolePusher, Pusher
from bot.router import Router
from bot.settings import Settings
from storage.db import make_engine, make_session_factory, transaction
from storage.models import utcnow
from storage.writer_lock import WriterLock, writer_lock_for


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    services: Services
    router: Router
    writer: WriterLock | None  # SQLite's one-writer queue (storage.writer_lock), shared by all who write

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work (storage.db.transaction), queued behind the other writers on SQLite."""
        with self.writer or nullcontext(), transaction(self.sessions) as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()


def build_runtime(settings: Settings, *, clock: Callable[[], datetime] = utcnow,
                  pushers: dict[str, Pusher] | None = None, segmenter: Segmenter | None = None) -> Runtime:
    from handlers import register_all

    redact_library_logs()  # before any library logs a URL or a row with a credential in it
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    services = Services(settings=settings, segmenter=segmenter or Segmenter(), clock=clock,
                        pushers=dict(pushers) if pushers is not None else {"console": ConsolePusher()})
    from bot.channels.dingtalk_push import dingtalk_pushers

    for name, pusher in dingtalk_pushers(settings, sessions, clock).items():
        services.pushers.setdefault(name, pusher)  # a pusher handed in (tests) wins

    if settings.wecom is not None and "wecom" not in services.pushers:
        from bot.channels.wecom_push import WecomPusher

        services.pushers["wecom"] = WecomPusher(settings.wecom, sessions)

    from handlers.knowledge import LazyKnowledgeBase

    services.extras["kb"] = LazyKnowledgeBase(services.segmenter)  # the index is built on the first question
    writer = writer_lock_for(engine)
    router = Router(sessions, services, writer=writer)
    register_all(router)
    return Runtime(settings, engine, sessions, services, router, writer)
