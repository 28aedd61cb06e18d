"""Builds the long-lived objects once per process and hands them down: no module-level singletons."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import make_pushers
from bot.core import Incoming, Reply, Services
from bot.files import FileService
from bot.identity import Identity
from bot.intent import Segmenter
from bot.log_redact import redact_library_logs
from bot.push import ConsolePusher, Pusher
from bot.router import Router
from bot.settings import Settings
from storage.db import make_engine, make_read_session_factory, make_session_factory, transaction
from storage.models import utcnow

if TYPE_CHECKING:
    from reminders.outbox import Dispatcher

BACKGROUND_THREADS = 4


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    services: Services
    router: Router
    # the one pool that runs messages' handlers (and the notices they send): a slow handler holds only its thread
    executor: ThreadPoolExecutor
    # replies pushed after a platform's budget, and the later parts of long ones: each waits on a platform's API, so
    # not on a handler thread (threads start only when a push is submitted)
    background: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=BACKGROUND_THREADS, thread_name_prefix="zhibu-push"))
    # who opened a web page on a phone, by platform: registered by the channels that can tell (bot.identity)
    identities: dict[str, Identity] = field(default_factory=dict)

    @property
    def read_sessions(self) -> sessionmaker[Session]:
        """Sessions that only read (exports, downloads): on SQLite they never take the write lock."""
        return self.services.files.read_sessions

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work (storage.db.transaction)."""
        with transaction(self.sessions) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit of work that only reads (web pages, exports): on SQLite it never waits for the write lock."""
        with self.read_sessions.begin() as session:
            yield session

    def submit(self, incoming: Incoming) -> Future[Reply]:
        """Route a message on the pool; a channel waits on the future for as long as its platform allows."""
        return self.executor.submit(self.router.process, incoming)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        """The outbox dispatcher, built when the first notice is sent (most console runs send none)."""
        from reminders.outbox import dispatcher_for

        return dispatcher_for(self.sessions, self.services)

    def send_notices(self, ids: list[int]) -> None:
        """Deliver these outbox rows now, through the dispatcher (the scheduler's pass retries what fails here)."""
        self.dispatcher.dispatch(only=ids)

    def close(self) -> None:
        self.executor.shutdown(wait=True)  # a handler that finishes now may still hand its late reply to `background`
        self.background.shutdown(wait=True)
        self.engine.dispose()


def build_runtime(settings: Settings, *, clock: Callable[[], datetime] = utcnow,
                  pushers: dict[str, Pusher] | None = None, segmenter: Segmenter | None = None,
                  background_notices: bool = False) -> Runtime:
    """`background_notices`: a web process answers the asker first and sends the notices on its pool; the console
    sends them before it prints the reply."""
    from handlers import register_all

    redact_library_logs()  # before any library logs a URL or a row with a credential in it
    engine = make_engine(settings.database_url, prepare_threshold=settings.database_prepare,
                         pool_size=settings.handler_threads, max_overflow=settings.handler_threads)
    sessions = make_session_factory(engine)
    services = Services(settings=settings, segmenter=segmenter or Segmenter(), clock=clock,
                        pushers=dict(pushers) if pushers is not None else {"console": ConsolePusher()},
                        files=FileService(make_read_session_factory(engine), settings, clock))
    for name, pusher in make_pushers(settings, sessions, clock).items():
        services.pushers.setdefault(name, pusher)  # a pusher handed in (tests) wins

    from handlers.knowledge import LazyKnowledgeBase

    services.extras["kb"] = LazyKnowledgeBase(services.segmenter)  # the index is built on the first question
    router = Router(sessions, services)
    register_all(router)
    executor = ThreadPoolExecutor(max_workers=settings.handler_threads, thread_name_prefix="zhibu-handler")
    runtime = Runtime(settings, engine, sessions, services, router, executor)
    if background_notices:
        services.send_notices = lambda ids: executor.submit(runtime.send_notices, ids)
    else:
        services.send_notices = runtime.send_notices
    return runtime
