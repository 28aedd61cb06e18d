"""Mounting the WeCom channel on the Flask app (only when ZHIBU_WECOM_* is configured)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from bot.channels.wecom import WecomCallback
from bot.runtime import Runtime

# on PostgreSQL handlers run side by side; sized above a worker's threads
ROUTING_THREADS = 32
# pushes: late replies, the later parts of long ones, and what handlers deferred (each waits on the WeCom API)
BACKGROUND_THREADS = 8


def register_wecom(app: Flask, runtime: Runtime) -> WecomCallback:
    assert runtime.settings.wecom is not None
    # On a SQLite file every message's transaction takes the one write lock, so messages are handled one at a time
    # whatever the thread count. One routing thread takes them in arrival order; several would queue on the lock,
    # and waking each in turn costs more thread switches than the messages' own work.
    routing_threads = 1 if runtime.writer is not None else ROUTING_THREADS
    routing = ThreadPoolExecutor(max_workers=routing_threads, thread_name_prefix="wecom-router")
    background = ThreadPoolExecutor(max_workers=BACKGROUND_THREADS, thread_name_prefix="wecom-push")
    callback = WecomCallback(runtime.settings.wecom, runtime.router, runtime.services.pushers.get("wecom"), routing,
                             background, tz=runtime.settings.tz)
    app.register_blueprint(callback.blueprint())
    app.extensions["zhibu.wecom"] = callback
    return callback
