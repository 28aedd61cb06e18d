"""The WeCom (企业微信) channel: everything that knows WeCom.

    callback.py  GET/POST /wecom/callback: verify, decrypt, route on the app's pool, answer passively or push later
    wire.py      the callback's XML envelope, signature and encryption
    inbound.py   a decrypted message or event → Incoming
    text.py      WeCom's 2048-byte limit: long replies in parts
    push.py      proactive messages (message/send): the Pusher
    oauth.py     web OAuth: who opened a page inside WeCom, the Identity the sign-in pages ask

`mount(app, runtime)` adds the callback and registers the Identity when ZHIBU_WECOM_* is configured;
`make_pushers(...)` builds the Pusher. Nothing here is imported until one of them is called.
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

PLATFORM = "wecom"
APP_NAME = "企业微信"


def opened_in(user_agent: str) -> bool:
    """WeCom's built-in browser says wxwork; plain WeChat (MicroMessenger alone) is not WeCom."""
    return "wxwork" in (user_agent or "").lower()


def make_pushers(settings: Settings, sessions: sessionmaker[Session], clock: Callable[[], datetime],
                 http: requests.Session | None = None) -> dict[str, Pusher]:
    """The WeCom pusher when the channel is configured (wechatpy makes its own HTTP session, so `http` is unused)."""
    if settings.wecom is None:
        return {}
    from bot.channels.wecom.push import WecomPusher

    return {PLATFORM: WecomPusher(settings.wecom, sessions, clock=clock)}


def mount(app: Flask, runtime: Runtime) -> None:
    settings = runtime.settings
    if settings.wecom is None:
        return
    from bot.channels.wecom.callback import WecomCallback
    from bot.channels.wecom.oauth import WecomIdentity, WecomOAuth
    from bot.channels.wecom.push import WecomPusher

    pusher = runtime.services.pushers.get(PLATFORM)
    callback = WecomCallback(settings.wecom, runtime.submit, pusher, runtime.background, tz=settings.tz,
                             files=runtime.services.files)
    app.register_blueprint(callback.blueprint())
    app.extensions["zhibu.wecom"] = callback
    if isinstance(pusher, WecomPusher):  # its client and token cache: one access token for pushes and sign-ins
        runtime.identities[PLATFORM] = WecomIdentity(settings.wecom, settings.wecom_oauth_url, WecomOAuth(pusher))
