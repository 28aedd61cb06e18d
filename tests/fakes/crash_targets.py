"""Pusher factories for the crash harness (tests/crash_harness.py): the real platform Pushers aimed at a fake server.

Each factory is called inside a dispatcher process with the fake server's URL; ZHIBU_DATABASE_URL is set there, and
the pusher keeps its access token in that database as it does in production, shared by every restarted dispatcher.
"""
from __future__ import annotations

import os

from bot.channels.wecom.push import WecomPusher
from bot.settings import WecomSettings
from storage.db import make_engine, make_session_factory

# what tests.fakes.wecom_server.FakeWecomServer accepts by default
WECOM_CORP_ID, WECOM_SECRET, WECOM_AGENT_ID = "ww-fake-corp", "fake-secret", 1000002


def make_wecom_pusher(api_base: str) -> WecomPusher:
    settings = WecomSettings(corp_id=WECOM_CORP_ID, agent_id=WECOM_AGENT_ID, secret=WECOM_SECRET,
                             token="unused-callback-token", aes_key="unused", api_base=api_base)
    sessions = make_session_factory(make_engine(os.environ["ZHIBU_DATABASE_URL"]))
    return WecomPusher(settings, sessions, timeout=(2.0, 5.0))
