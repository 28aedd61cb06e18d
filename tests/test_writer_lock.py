"""The SQLite writer lock excludes writers across threads and across forked processes (gunicorn workers)."""
from __future__ import annotations

import os
import threading
import time

from storage.db import make_engine
from storage.writer_lock import WriterLock, writer_lock_for


def _bump(counter, lock: WriterLock, times: int, finished: list[bool] | None = None) -> None:
    """Read, pause, write: two holders at once would lose increments. Appends to `finished` once done."""
    for _ in range(times):
        with lock:
            n = int(counter.read_text())
            time.sleep(0.0005)
            counter.write_text(str(n + 1))
    if finished is not None:
        finished.append(True)


def test_forked_processes_and_threads_never_hold_it_together(tmp_path):
    counter = tmp_path / "n"
    counter.write_text("0")
    lock = WriterLock(tmp_path / "db-writer.lock")
    with lock:  # opened before the fork, as gunicorn --preload does: the children must not share the parent's lock
        pass
    children = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            finished: list[bool] = []  # a thread that raised never appends: the exit status says so
            try:
                threads = [threading.Thread(target=_bump, args=(counter, lock, 25, finished)) for _ in range(2)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            finally:
                os._exit(0 if len(finished) == 2 else 1)
        children.append(pid)
    _bump(counter, lock, 25)
    for pid in children:
        assert os.waitpid(pid, 0)[1] == 0
    assert int(counter.read_text()) == 2 * 2 * 25 + 25


def test_released_when_the_holder_raises(tmp_path):
    lock = WriterLock(tmp_path / "w.lock")
    try:
        with lock:
            raise RuntimeError("handler failed")
    except RuntimeError:
        pass
    acquired = threading.Event()
    t = threading.Thread(target=lambda: (lock.__enter__(), acquired.set(), lock.__exit__(None, None, None)))
    t.start()
    t.join(2)
    assert acquired.is_set()


def test_only_sqlite_files_get_one(tmp_path):
    assert isinstance(writer_lock_for(make_engine(f"sqlite:///{tmp_path / 'z.db'}")), WriterLock)
    assert writer_lock_for(make_engine("sqlite://")) is None
    assert writer_lock_for(make_engine("postgresql+psycopg://u@127.0.0.1:1/x")) is None
