"""Messages waiting for the router, taken in batches by a few threads of their own.

A channel that must answer within a deadline (WeCom: 3 s) cannot route on its request thread, since it could not
answer while a handler is still running. It submits here and waits on the future. Each routing thread takes
whatever has queued up (up to MAX_BATCH) and hands it to `Router.process_batch`, which handles it in one
transaction: under load the per-message costs of BEGIN, COMMIT and the write lock are shared by the batch, and with
one message waiting it is handled as it always was.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future

from bot.messages import Incoming, Reply

log = logging.getLogger(__name__)

MAX_BATCH = 16  # a batch's replies wait for its last message: keep it short

Routed = tuple[Reply, list[Callable[[], None]]]
ProcessBatch = Callable[[list[Incoming]], list[Routed]]


class RoutingQueue:
    def __init__(self, process_batch: ProcessBatch, threads: int, *, max_batch: int = MAX_BATCH,
                 name: str = "router") -> None:
        self._process_batch = process_batch
        self._threads = threads
        self._max_batch = max_batch
        self._name = name
        self._queue: queue.SimpleQueue[tuple[Incoming, Future] | None] = queue.SimpleQueue()
        self._started_in = 0  # the pid that started the threads: a forked worker starts its own
        self._start_lock = threading.Lock()

    def submit(self, incoming: Incoming) -> Future[Routed]:
        """The router's (reply, deferred actions) for this message, when it is ready (Router.process_batch never raises)."""
        if self._started_in != os.getpid():
            self._start()
        future: Future[Routed] = Future()
        self._queue.put((incoming, future))
        return future

    def shutdown(self) -> None:
        """Let the threads finish what is queued, then stop."""
        _stop(self._queue, self._threads)

    def _start(self) -> None:
        with self._start_lock:
            if self._started_in == os.getpid():
                return
            # the threads hold the queue weakly, as ThreadPoolExecutor's do: once the app that made it is gone,
            # they stop instead of keeping its router, engine and connections alive
            owner = weakref.ref(self, lambda _, q=self._queue, n=self._threads: _stop(q, n))
            for i in range(self._threads):
                threading.Thread(target=_serve, args=(owner, self._queue), name=f"{self._name}-{i}",
                                 daemon=True).start()
            self._started_in = os.getpid()

    def _route(self, waiting: list[tuple[Incoming, Future]]) -> list[tuple[Incoming, Future]]:
        """Route a batch and settle the futures of those routed; the rest, for the next batch."""
        try:
            routed = self._process_batch([incoming for incoming, _ in waiting])
        except Exception as err:  # process_batch never raises; if it did, no submitter may wait forever
            log.exception("routing failed")
            for _, future in waiting:
                future.set_exception(err)
            return []
        for (_, future), result in zip(waiting, routed, strict=False):  # a prefix was routed
            future.set_result(result)
        # the router takes a prefix (one platform, no member or key twice): the rest go first into the next batch
        return waiting[len(routed):]


def _serve(owner: weakref.ref[RoutingQueue], q: queue.SimpleQueue) -> None:
    waiting: list[tuple[Incoming, Future]] = []
    stopping = False
    while True:
        if not waiting:
            item = None if stopping else q.get()
            if item is None:
                return
            waiting.append(item)
        routing = owner()
        if routing is None:
            return
        if not stopping:
            stopping = _take_queued(q, waiting, routing._max_batch)
        waiting = routing._route(waiting)
        del routing


def _stop(q: queue.SimpleQueue, threads: int) -> None:
    for _ in range(threads):
        q.put(None)  # each thread stops at the first None it takes


def _take_queued(q: queue.SimpleQueue, waiting: list, limit: int) -> bool:
    """Add what has queued meanwhile to `waiting`, up to `limit`; True when a stop was among it."""
    while len(waiting) < limit:
        try:
            item = q.get_nowait()
        except queue.Empty:
            return False
        if item is None:
            return True
        waiting.append(item)
    return False
