"""The signed tokens of the 管理后台 (web console), built without Flask (the chat command asks for the link here).

- the sign-in link: /console/login/<token>, for one member, valid 10 minutes; its random id is recorded when it is
  used (storage: console_logins), so it works once;
- the session: a cookie holding a signed token for the member, valid 8 hours;
- the OAuth state: carries nothing but its own validity through WeCom's redirect (at most 2 minutes).
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from bot.settings import Settings
from bot.signing import MalformedToken, id_field, make_token, read_token

LOGIN, SESSION, STATE = "console-login", "console-session", "console-oauth"
LOGIN_LIFE = timedelta(minutes=10)
SESSION_LIFE = timedelta(hours=8)
STATE_LIFE = timedelta(minutes=2)
TOKEN_ID_BYTES = 12


class Login(NamedTuple):
    member_id: int
    token_id: str


def login_url(settings: Settings, member_id: int, now: datetime) -> str:
    token_id = secrets.token_urlsafe(TOKEN_ID_BYTES)  # a fresh link each time: each works once
    token = make_token(settings.secret_key, LOGIN, {"m": member_id, "j": token_id}, now + LOGIN_LIFE)
    return f"{settings.public_url.rstrip('/')}/console/login/{token}"


def read_login(settings: Settings, token: str, now: datetime) -> Login:
    """Raises BadToken (MalformedToken when signed but not a login's) or ExpiredToken."""
    data = read_token(settings.secret_key, LOGIN, token, now)
    token_id = data.get("j")
    if not isinstance(token_id, str) or not 0 < len(token_id) <= 40:
        raise MalformedToken("内容损坏")
    return Login(id_field(data, "m"), token_id)


def session_token(settings: Settings, member_id: int, now: datetime) -> str:
    return make_token(settings.secret_key, SESSION, {"m": member_id}, now + SESSION_LIFE)


def session_member(settings: Settings, token: str, now: datetime) -> int:
    return id_field(read_token(settings.secret_key, SESSION, token, now), "m")


def state_token(settings: Settings, now: datetime) -> str:
    return make_token(settings.secret_key, STATE, {"n": secrets.token_urlsafe(8)}, now + STATE_LIFE)


def check_state(settings: Settings, token: str, now: datetime) -> None:
    read_token(settings.secret_key, STATE, token, now)
