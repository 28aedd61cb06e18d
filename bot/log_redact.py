"""Credentials in query strings and bearer tokens in paths never reach the logs.

WeCom's API takes `corpsecret` (gettoken) and `access_token` (every call) in the query string, and urllib3 logs each
request line at DEBUG (DingTalk's sessionWebhook carries its session key the same way). A filter on urllib3's logger blanks those values, so turning DEBUG on while chasing a problem
does not write the app secret or a live token into the log; SQLAlchemy's DEBUG rows are hidden likewise.
A signed link's token in a path (the projector page, the QR target, files) is a bearer token too: it becomes '…' in
gunicorn's access log (bot.serve), Flask's own log and the development server's."""
from __future__ import annotations

import logging
import re

SENSITIVE = re.compile(r"((?:access_token|corpsecret|appsecret|secret|sign|signature|msg_signature|echostr|session)=)"
                       r"[^&\s\"']+", re.IGNORECASE)
# paths whose last part is a bearer token (a signed link): the projector page and what it polls, the QR target, the
# console sign-in link, files.
# deploy/nginx/zhibu.conf redacts the same paths in nginx's access log.
BEARER_PATH = re.compile(r"(/signin/screen/|/signin/s/|/console/login/|/files/[^/\s?#\"']+/)[^/\s?#\"'\]]+")
URLLIB3_LOGGER = "urllib3.connectionpool"
# Flask's own logger (named after the app: "Exception on <path> [GET]") and the development server's request lines
PATH_LOGGERS = ("zhibu", "werkzeug")
SQL_LOGGER = "sqlalchemy.engine.Engine"


def redact(value: object) -> object:
    return SENSITIVE.sub(r"\1***", value) if isinstance(value, str) else value


def redact_path(text: str | None) -> str | None:
    """/signin/screen/<token>/state.json → /signin/screen/…/state.json, wherever such a path is in `text`."""
    return BEARER_PATH.sub(r"\1…", text) if text else text


class RedactPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_path(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_path(a) if isinstance(a, str) else a for a in record.args)
        return True


class RedactQuery(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) for a in record.args)
        return True


class HideRows(logging.Filter):
    """SQLAlchemy logs each fetched row at DEBUG (tokens, mobiles, amounts); the statement is enough to debug with.
    Its parameters are hidden by the engine itself (hide_parameters=True in storage/db.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Row %r":
            record.args = ("[row hidden]",)
        return True


def _install(name: str, kind: type[logging.Filter]) -> None:
    logger = logging.getLogger(name)
    if not any(isinstance(f, kind) for f in logger.filters):
        logger.addFilter(kind())


def redact_library_logs() -> None:
    """Idempotent: installs the filters once per process."""
    _install(URLLIB3_LOGGER, RedactQuery)
    _install(SQL_LOGGER, HideRows)
    for name in PATH_LOGGERS:
        _install(name, RedactPaths)
