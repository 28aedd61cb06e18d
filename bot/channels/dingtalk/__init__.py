"""The DingTalk (钉钉) channel: everything that knows DingTalk.

    callback.py  HTTP mode, POST /dingtalk/callback: verify, parse, route on the app's pool, answer or reply later
    stream.py    Stream mode: the outbound WebSocket (`zhibu dingtalk-stream`), acks at once, routes on the same pool
    parse.py     a robot message body → Incoming
    render.py    Reply → DingTalk message bodies
    reply.py     what both modes share after routing: private replies in groups, replies sent after the ack
    sign.py      the callback's and the group robots' signatures
    api.py       the OpenAPI calls (access token, robot 1:1 and group sends, sessionWebhook posts)
    push.py      proactive messages: 1:1 through the robot, a branch's group through its custom robot

`mount(app, runtime)` adds the HTTP callback when ZHIBU_DINGTALK_MODE is http; `make_pushers(...)` builds the
Pushers. Nothing here is imported until one of them is called.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests
    from flask import Flask
    from sqlalchemy.orm import Session, sessionmaker

    from bot.push import Pusher
    from bot.runtime import Runtime
    from bot.settings import Settings

PLATFORM = "dingtalk"
APP_NAME = "钉钉"


def opened_in(user_agent: str) -> bool:
    """DingTalk's built-in browser says AliApp(DingTalk/…)."""
    return "dingtalk" in (user_agent or "").lower()


def make_pushers(settings: Settings, sessions: sessionmaker[Session], clock: Callable[[], datetime],
                 http: requests.Session | None = None) -> dict[str, Pusher]:
    """The group robot needs no app (its address is a per-organisation setting); 1:1 pushes need the app."""
    from bot.channels.dingtalk.push import DingtalkPusher, GroupRobotPusher

    if settings.dingtalk is None:  # the group robot alone makes its HTTP session (and loads requests) when it first posts
        return {"dingtalk_group": GroupRobotPusher(sessions, clock, http)}
    import requests

    from bot.channels.dingtalk.api import DingtalkApi

    http = http or requests.Session()
    return {"dingtalk_group": GroupRobotPusher(sessions, clock, http),
            PLATFORM: DingtalkPusher(DingtalkApi(settings.dingtalk, sessions, clock, http))}


def mount(app: Flask, runtime: Runtime) -> None:
    if runtime.settings.dingtalk is None or runtime.settings.dingtalk.mode != "http":
        return  # Stream mode needs no endpoint: `zhibu dingtalk-stream` connects out
    from bot.channels.dingtalk.callback import DingtalkCallback

    callback = DingtalkCallback(runtime)
    app.register_blueprint(callback.blueprint())
    app.extensions["zhibu.dingtalk"] = callback
