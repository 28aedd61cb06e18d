"""One writer at a time on a SQLite file, across the threads and processes (gunicorn workers) that share it.

SQLite's own busy handler polls with sleeps that grow to 100 ms, so writers queued on it wake late and unfairly: a
burst of messages from two workers then has replies taking over a second. Here threads queue on a lock and
processes on `flock` of a file beside the database; both wake the next writer as soon as the lock is free.
"""
from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from sqlalchemy.engine import Engine


class WriterLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0  # the file is opened per process: a descriptor inherited across fork shares its lock

    def _file(self) -> int:
        if self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def __enter__(self) -> WriterLock:
        self._threads.acquire()
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


def writer_lock_for(engine: Engine) -> WriterLock | None:
    """A WriterLock for a SQLite file; None for PostgreSQL (row locks) or an in-memory database."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return WriterLock(Path(database + "-writer.lock"))
