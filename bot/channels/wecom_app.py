"""Mounting the WeCom channel on the Flask app (only when ZHIBU_WECOM_* is configured)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from bot.channels.wecom import WecomCallback
from bot.routing_queue import RoutingQueue
from bot.runtime import Runtime

# One routing thread per worker process takes what has queued up as one batch (Router.process_batch). On a SQLite
# file every transaction takes the one write lock anyway; on PostgreSQL a batch's keys and speakers are one round
# trip for all of its messages. Several threads would split the batches and pay those costs per message again
# (measured with `python -m benchmarks wecom`).
ROUTING_THREADS = 1
# pushes: late replies, the later parts of long ones, and what handlers deferred (each waits on the WeCom API)
BACKGROUND_THREADS = 8


def register_wecom(app: Flask, runtime: Runtime) -> WecomCallback:
    assert runtime.settings.wecom is not None
    routing = RoutingQueue(runtime.router.process_batch, ROUTING_THREADS, name="wecom-router")
    background = ThreadPoolExecutor(max_workers=BACKGROUND_THREADS, thread_name_prefix="wecom-push")
    callback = WecomCallback(runtime.settings.wecom, routing, runtime.services.pushers.get("wecom"), background,
                             tz=runtime.settings.tz)
    app.register_blueprint(callback.blueprint())
    app.extensions["zhibu.wecom"] = callback
    return callback
