"""The chat platforms the bot speaks on.

Each platform is a package here that alone knows that platform, and offers the same two calls:
    mount(app, runtime)                             its web endpoints on the Flask app, when it is configured
    make_pushers(settings, sessions, clock, http)   its Pushers for proactive messages, by name
and, for the web pages, APP_NAME (as members know the app) and opened_in(user_agent). The console channel
(console.py) is a plain module: it has no endpoint and pushes by printing.

Importing this module imports no platform: each package is loaded when it is first asked for something.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests
    from flask import Flask
    from sqlalchemy.orm import Session, sessionmaker

    from bot.push import Pusher
    from bot.runtime import Runtime
    from bot.settings import Settings

CHANNELS = ("bot.channels.wecom", "bot.channels.dingtalk")


def channels() -> list[ModuleType]:
    return [importlib.import_module(name) for name in CHANNELS]


def make_pushers(settings: Settings, sessions: sessionmaker[Session], clock: Callable[[], datetime],
                 http: requests.Session | None = None) -> dict[str, Pusher]:
    """Every configured platform's pushers, by name (`wecom`, `dingtalk`, `dingtalk_group`)."""
    pushers: dict[str, Pusher] = {}
    for channel in channels():
        pushers.update(channel.make_pushers(settings, sessions, clock, http))
    return pushers


def mount(app: Flask, runtime: Runtime) -> None:
    """Each configured platform's endpoints on the app."""
    for channel in channels():
        channel.mount(app, runtime)


def app_opened_in(user_agent: str) -> str | None:
    """The chat app a web page was opened in (its name as members know it), or None for a plain browser."""
    return next((channel.APP_NAME for channel in channels() if channel.opened_in(user_agent)), None)
