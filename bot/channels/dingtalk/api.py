"""The DingTalk OpenAPI calls we make: the new-style access token (shared through platform_tokens), robot 1:1
batchSend and group send, and posting to a message's sessionWebhook."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import requests
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.tokens import TokenStore
from bot.settings import DingtalkSettings

log = logging.getLogger(__name__)

PLATFORM = "dingtalk"
RETRYABLE_CODES = {"send.too.fast", "send.byToken.tooFast", "system.error", "Forbidden.AccessDenied.QpsLimitForApi",
                   "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "ServiceUnavailable", "Throttling"}
AUTH_CODES = {"InvalidAuthentication", "invalidAuthentication"}


class ApiError(Exception):
    """A failed DingTalk call; `retry` says whether trying later may help. str() never contains a secret."""

    def __init__(self, message: str, *, retry: bool, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.retry = retry
        self.code = code
        self.status = status


def _error_of(resp: requests.Response) -> ApiError:
    try:
        payload = resp.json()
    except ValueError:
        payload = {}
    code = str(payload.get("code") or "") if isinstance(payload, dict) else ""
    message = str(payload.get("message") or "") if isinstance(payload, dict) else ""
    retry = resp.status_code >= 500 or resp.status_code == 429 or code in RETRYABLE_CODES
    return ApiError(f"钉钉接口返回 HTTP {resp.status_code} {code} {message}".strip(), retry=retry, code=code,
                    status=resp.status_code)


class DingtalkApi:
    def __init__(self, settings: DingtalkSettings, sessions: sessionmaker[Session], clock: Callable[[], datetime],
                 http: requests.Session | None = None, timeout: float = 10.0) -> None:
        self.settings = settings
        self.http = http or requests.Session()
        self.timeout = timeout
        self.tokens = TokenStore(sessions, PLATFORM, settings.app_key, self._fetch_token, clock)

    def _fetch_token(self) -> tuple[str, int]:
        try:
            resp = self.http.post(f"{self.settings.api_base}/v1.0/oauth2/accessToken", timeout=self.timeout,
                                  json={"appKey": self.settings.app_key, "appSecret": self.settings.app_secret})
        except requests.RequestException as err:
            raise ApiError(f"取钉钉 access token 失败：{type(err).__name__}", retry=True) from None
        if resp.status_code != 200:
            err = _error_of(resp)
            if err.code == "invalidClientIdOrSecret":
                raise ApiError("钉钉应用的 AppKey 或 AppSecret 不对：请检查 ZHIBU_DINGTALK_APP_KEY / _APP_SECRET",
                               retry=False, code=err.code, status=err.status)
            raise err
        payload = resp.json()
        if not payload.get("accessToken"):
            raise ApiError("钉钉 access token 应答里没有 accessToken", retry=True)
        return payload["accessToken"], int(payload.get("expireIn") or 7200)

    def call(self, path: str, body: dict) -> dict:
        """POST to the new-style API; a refused token is replaced once (bounded), never in a loop."""
        token = self.tokens.get()
        for attempt in range(2):
            try:
                resp = self.http.post(f"{self.settings.api_base}{path}", json=body, timeout=self.timeout,
                                      headers={"x-acs-dingtalk-access-token": token})
            except requests.RequestException as err:
                raise ApiError(f"调用钉钉接口失败：{type(err).__name__}", retry=True) from None
            if resp.status_code == 200:
                return resp.json()
            err = _error_of(resp)
            if resp.status_code == 401 or err.code in AUTH_CODES:
                if attempt == 0:
                    log.info("DingTalk refused the access token; fetching a new one")
                    token = self.tokens.get(rejected=token)
                    continue
                err.retry = True  # refused twice in a row: leave it to the outbox's back-off, not a loop here
            raise err
        raise AssertionError("unreachable")

    def upload_media(self, filename: str, data: bytes, mimetype: str, media_type: str = "file") -> str:
        """POST {media_base}/media/upload (the old API host takes the new-style token): the mediaId."""
        token = self.tokens.get()
        for attempt in range(2):
            try:
                resp = self.http.post(f"{self.settings.media_base}/media/upload", timeout=max(self.timeout, 60.0),
                                      params={"access_token": token, "type": media_type},
                                      files={"media": (filename, data, mimetype)})
            except requests.RequestException as err:
                raise ApiError(f"上传文件到钉钉失败：{type(err).__name__}", retry=True) from None
            try:
                payload = resp.json()
            except ValueError:
                payload = {}
            code = payload.get("errcode") if isinstance(payload, dict) else None
            if resp.status_code == 200 and code == 0 and payload.get("media_id"):
                return str(payload["media_id"])
            if code in (40014, 42001, 88) and attempt == 0:  # a refused token: replaced once
                token = self.tokens.get(rejected=token)
                continue
            message = str(payload.get("errmsg") or "") if isinstance(payload, dict) else ""
            raise ApiError(f"钉钉上传文件失败：HTTP {resp.status_code} {code} {message}".strip(),
                           retry=resp.status_code >= 500, code=str(code or ""), status=resp.status_code)
        raise AssertionError("unreachable")

    def batch_send(self, user_ids: list[str], msg_key: str, msg_param: str) -> dict:
        return self.call("/v1.0/robot/oToMessages/batchSend", {
            "robotCode": self.settings.robot_code, "userIds": user_ids, "msgKey": msg_key, "msgParam": msg_param})

    def group_send(self, open_conversation_id: str, msg_key: str, msg_param: str) -> dict:
        return self.call("/v1.0/robot/groupMessages/send", {
            "robotCode": self.settings.robot_code, "openConversationId": open_conversation_id,
            "msgKey": msg_key, "msgParam": msg_param})


def post_webhook(http: requests.Session, url: str, body: dict, timeout: float = 10.0) -> tuple[int, str]:
    """POST a webhook-shaped message (sessionWebhook or group robot): (errcode, errmsg); errors are HTTP 200 too."""
    try:
        resp = http.post(url, json=body, timeout=timeout)
    except requests.RequestException as err:
        return -1, type(err).__name__
    try:
        payload = resp.json()
        return int(payload.get("errcode", -1)), str(payload.get("errmsg", ""))
    except (ValueError, TypeError, AttributeError):
        return -1, f"HTTP {resp.status_code}"
