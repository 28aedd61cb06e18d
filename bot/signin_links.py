"""The signed links of scan-to-sign-in, built without Flask (handlers ask for the projector link here).

- the projector page (签到大屏): /signin/screen/<token>, valid until two hours after the sign-in window;
- the QR: /signin/s/<token>, bound to one meeting, expiring 60 s after it is first shown and replaced every 30 s.
  The QR token is the same for every screen during one 30-second slot (tokens are deterministic), so two
  projectors of one meeting show the same code and the image can be cached for the slot;
- the OAuth state: carries the meeting from a valid scan through WeCom's redirect (a few seconds, at most 2 min).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.settings import Settings
from bot.signing import id_field, make_token, read_token

SCREEN, SCAN, STATE = "signin-screen", "signin-scan", "signin-oauth"
ROTATE_SECONDS = 30
SCAN_LIFE_SECONDS = 60
SCREEN_AFTER_WINDOW = timedelta(hours=2)
STATE_LIFE = timedelta(minutes=2)


def _base(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


def screen_token(settings: Settings, meeting_id: int, window_closes_at: datetime) -> str:
    return make_token(settings.secret_key, SCREEN, {"m": meeting_id}, window_closes_at + SCREEN_AFTER_WINDOW)


def screen_url(settings: Settings, meeting_id: int, window_closes_at: datetime) -> str:
    return f"{_base(settings)}/signin/screen/{screen_token(settings, meeting_id, window_closes_at)}"


def current_slot(now: datetime) -> int:
    return int(now.timestamp()) // ROTATE_SECONDS


def slot_start(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * ROTATE_SECONDS, UTC)


def scan_token(settings: Settings, meeting_id: int, slot: int) -> str:
    """The QR token shown during `slot`: it stops working SCAN_LIFE_SECONDS after the slot began."""
    expires = slot_start(slot) + timedelta(seconds=SCAN_LIFE_SECONDS)
    return make_token(settings.secret_key, SCAN, {"m": meeting_id}, expires)


def scan_url(settings: Settings, token: str) -> str:
    return f"{_base(settings)}/signin/s/{token}"


def meeting_of(settings: Settings, purpose: str, token: str, now: datetime) -> int:
    """The meeting id a token is bound to; raises BadToken (MalformedToken when signed but not a meeting's) or
    ExpiredToken."""
    return id_field(read_token(settings.secret_key, purpose, token, now), "m")


def state_token(settings: Settings, meeting_id: int, now: datetime) -> str:
    return make_token(settings.secret_key, STATE, {"m": meeting_id}, now + STATE_LIFE)
