"""WeCom web OAuth (snsapi_base): who opened a page inside WeCom, without a tap on 同意.

The member's WeCom opens `authorize_url(...)`; WeCom redirects back to our redirect_uri with a one-use `code`, which
user/getuserinfo (with the app's access token, from the pusher's shared token cache) turns into the member's UserId.
"""
from __future__ import annotations

import logging
from urllib.parse import urlencode

import requests
from wechatpy.exceptions import WeChatClientException

from bot.channels.wecom import APP_NAME, PLATFORM, opened_in
from bot.channels.wecom.push import TOKEN_ERRORS, WecomApiError, WecomPusher
from bot.identity import IdentityError
from bot.settings import WecomSettings

log = logging.getLogger(__name__)

INVALID_CODE = (40029, 50001)  # a code used twice, too old, or for another app / a redirect domain not trusted


class OAuthError(IdentityError):
    """The code could not be exchanged; `retry` says whether scanning again may help."""


def authorize_url(settings: WecomSettings, oauth_url: str, redirect_uri: str, state: str) -> str:
    """The page WeCom opens first; #wechat_redirect must stay last (WeCom's client looks for it)."""
    query = urlencode({"appid": settings.corp_id, "redirect_uri": redirect_uri, "response_type": "code",
                       "scope": "snsapi_base", "state": state, "agentid": settings.agent_id})
    return f"{oauth_url}?{query}#wechat_redirect"


class WecomOAuth:
    """The code exchange, through the pusher's client (configured API base, timeouts) and token cache."""

    def __init__(self, pusher: WecomPusher) -> None:
        self.pusher = pusher

    def user_id(self, code: str) -> str:
        """The member's WeCom UserId for a one-use code; raises OAuthError."""
        if not code or len(code) > 512:
            raise OAuthError("企业微信没有给出身份码")
        tokens = self.pusher.tokens
        try:
            token = tokens.get()
            try:
                data = self._getuserinfo(token, code)
            except WecomApiError as err:
                if err.errcode not in TOKEN_ERRORS:
                    raise
                data = self._getuserinfo(tokens.get(rejected=token), code)  # once, never more
        except WecomApiError as err:
            if err.errcode in INVALID_CODE:
                raise OAuthError("身份码无效或已用过") from None
            log.warning("wecom getuserinfo failed: %s %s", err.errcode, err.errmsg)
            raise OAuthError(f"企业微信接口出错（{err.errcode}）") from None
        except requests.RequestException as err:
            raise OAuthError(f"连不上企业微信接口（{type(err).__name__}）") from None
        user = data.get("UserId") or data.get("userid")
        if not user:
            # OpenId only: someone outside the company (or outside the app's visible range)
            raise OAuthError("你不是本单位企业微信成员，或不在应用可见范围内", retry=False)
        return str(user)

    def _getuserinfo(self, token: str, code: str) -> dict:
        try:
            result = self.pusher.client.get("user/getuserinfo", params={"access_token": token, "code": code})
        except WeChatClientException as err:
            raise WecomApiError(int(err.errcode) if err.errcode is not None else None, str(err.errmsg or "")) from None
        if not isinstance(result, dict):
            raise WecomApiError(None, "user/getuserinfo 返回的不是 JSON")
        return result


class WecomIdentity:
    """bot.identity.Identity for pages opened inside WeCom: its snsapi_base OAuth names the member without a tap."""

    platform = PLATFORM
    app_name = APP_NAME

    def __init__(self, settings: WecomSettings, oauth_url: str, oauth: WecomOAuth) -> None:
        self.settings = settings
        self.oauth_url = oauth_url
        self.oauth = oauth

    def opened_in(self, user_agent: str) -> bool:
        return opened_in(user_agent)

    def login_url(self, redirect_uri: str, state: str) -> str:
        return authorize_url(self.settings, self.oauth_url, redirect_uri, state)

    def identify(self, code: str) -> str:
        return self.oauth.user_id(code)
