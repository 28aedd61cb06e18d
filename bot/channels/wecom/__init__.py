"""Mounting the WeCom channel on the Flask app (only when ZHIBU_WECOM_* is configured)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from bot.channels.wecom.callback import WecomCallback
from bot.runtime import Runtime

# pushes: late replies and the later parts of long ones (each waits on the WeCom API)
BACKGROUND_THREADS = 4


def register_wecom(app: Flask, runtime: Runtime) -> WecomCallback:
    assert runtime.settings.wecom is not None
    background = ThreadPoolExecutor(max_workers=BACKGROUND_THREADS, thread_name_prefix="wecom-push")
    callback = WecomCallback(runtime.settings.wecom, runtime.submit, runtime.services.pushers.get("wecom"), background,
                             tz=runtime.settings.tz)
    app.register_blueprint(callback.blueprint())
    app.extensions["zhibu.wecom"] = callback
    return callback
