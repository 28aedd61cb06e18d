"""Platform access tokens (WeCom, DingTalk), shared by every process through the platform_tokens table.

One fetch per expiry for the whole deployment: a process that finds the stored token stale takes the row's lock
(SELECT … FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE write lock), looks again, and only then fetches. A token
the platform rejected early is passed back as `rejected`, so the next fetch is forced unless another process already
replaced it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import PlatformToken, utcnow

# stop using a token this long before the platform's stated expiry (at most a quarter of its life), so it never expires
# between the check and the call; platform_tokens.expires_at stores that earlier moment
MARGIN = timedelta(minutes=5)
NEVER = datetime(1970, 1, 1, tzinfo=UTC)

Fetch = Callable[[], tuple[str, int]]  # -> (token, expires_in seconds); raises on failure


class TokenStore:
    """The access token of one app (`platform`, `app`); `fetch` asks the platform for a new one."""

    def __init__(self, sessions: sessionmaker[Session], platform: str, app: str, fetch: Fetch,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.platform = platform
        self.app = app[:100]
        self.fetch = fetch
        self.clock = clock
        self._lock = threading.Lock()  # threads of one process queue here rather than on the database
        self._cached: tuple[str, datetime] | None = None
        self.fetches = 0  # fetches made by this store (for the operator check and tests)

    def _fresh(self, token: str | None, expires_at: datetime | None, rejected: str | None) -> bool:
        return bool(token) and token != rejected and expires_at is not None and expires_at > self.clock()

    def get(self, rejected: str | None = None) -> str:
        cached = self._cached
        if cached and self._fresh(cached[0], cached[1], rejected):
            return cached[0]
        with self._lock:
            row = self._read()
            if row and self._fresh(row[0], row[1], rejected):
                self._cached = row
                return row[0]
            return self._refresh(rejected)

    def forget(self) -> None:
        self._cached = None

    def _read(self) -> tuple[str, datetime] | None:
        with self.sessions() as session:
            row = session.execute(select(PlatformToken.token, PlatformToken.expires_at).where(
                PlatformToken.platform == self.platform, PlatformToken.app == self.app)).first()
        return (row[0], row[1]) if row else None

    def _ensure_row(self) -> None:
        """An expired placeholder row, so that the refresh always has a row to lock (PostgreSQL locks rows, not gaps:
        without it, processes finding no row would all fetch at once)."""
        with self.sessions() as session:
            exists = session.scalar(select(PlatformToken.id).where(
                PlatformToken.platform == self.platform, PlatformToken.app == self.app))
            if exists:
                return
            session.add(PlatformToken(platform=self.platform, app=self.app, token="", expires_at=NEVER,
                                      updated_at=self.clock()))
            try:
                session.commit()
            except IntegrityError:  # another process created it first
                session.rollback()

    def _refresh(self, rejected: str | None) -> str:
        self._ensure_row()
        with self.sessions() as session, session.begin():
            row = session.scalars(select(PlatformToken).where(
                PlatformToken.platform == self.platform, PlatformToken.app == self.app).with_for_update()).one()
            if self._fresh(row.token, row.expires_at, rejected):
                self._cached = (row.token, row.expires_at)  # another process refreshed while we waited
                return row.token
            self.fetches += 1
            token, expires_in = self.fetch()  # the row stays locked: the other processes wait for this one fetch
            now = self.clock()
            row.token = token
            life = timedelta(seconds=max(int(expires_in), 1))
            row.expires_at = now + life - min(MARGIN, life / 4)
            row.updated_at = now
            self._cached = (token, row.expires_at)
            return token
