"""Credentials in query strings never reach the logs.

WeCom's API takes `corpsecret` (gettoken) and `access_token` (every call) in the query string, and urllib3 logs each
request line at DEBUG (DingTalk's sessionWebhook carries its session key the same way). A filter on urllib3's logger blanks those values, so turning DEBUG on while chasing a problem
does not write the app secret or a live token into the log; SQLAlchemy's DEBUG rows are hidden likewise."""
from __future__ import annotations

import logging
import re

SENSITIVE = re.compile(r"((?:access_token|corpsecret|appsecret|secret|sign|signature|msg_signature|echostr|session)=)"
                       r"[^&\s\"']+", re.IGNORECASE)
URLLIB3_LOGGER = "urllib3.connectionpool"
SQL_LOGGER = "sqlalchemy.engine.Engine"


def redact(value: object) -> object:
    return SENSITIVE.sub(r"\1***", value) if isinstance(value, str) else value


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
