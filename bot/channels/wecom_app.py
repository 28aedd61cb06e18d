"""Mounting the WeCom channel on the Flask app (only when ZHIBU_WECOM_* is configured)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from bot.channels.wecom import WecomCallback
from bot.runtime import Runtime

# handlers run here so a slow one can be left to finish after WeCom was answered; sized above a worker's threads
HANDLER_THREADS = 32


def register_wecom(app: Flask, runtime: Runtime) -> WecomCallback:
    assert runtime.settings.wecom is not None
    executor = ThreadPoolExecutor(max_workers=HANDLER_THREADS, thread_name_prefix="wecom-handler")
    callback = WecomCallback(runtime.settings.wecom, runtime.router, runtime.services.pushers.get("wecom"), executor,
                             tz=runtime.settings.tz)
    app.register_blueprint(callback.blueprint())
    app.extensions["zhibu.wecom"] = callback
    return callback
