"""Files members open from a signed link in a push: GET /files/<purpose>/<token>.

Each purpose has a maker that builds the file from the database on request; features add theirs to FILE_MAKERS.
A maker checks the shape of the token's data (bot.signing.id_field and the like) and raises MalformedToken when it
is not what the link carries: the page answers 400, never 500.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response
from sqlalchemy.orm import Session

from bot.messages import Attachment
from bot.runtime import Runtime
from bot.signing import BadToken, ExpiredToken, MalformedToken, id_field, read_token

FileMaker = Callable[[Session, dict[str, Any]], Attachment]


class FileGone(LookupError):
    """The thing the link points at no longer exists; str() is shown to the member."""


def term_letter_file(session: Session, data: dict[str, Any]) -> Attachment:
    from reminders.letter import DOCX_MIMETYPE, LetterError, build_letter, letter_facts, letter_filename
    from storage.models import Organization

    org_id, on = id_field(data, "org"), data.get("on")
    try:
        day = date.fromisoformat(on) if isinstance(on, str) and len(on) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise MalformedToken("内容损坏")
    org = session.get(Organization, org_id)
    if org is None:
        raise FileGone("该党组织已不存在")
    try:
        facts = letter_facts(session, org, day)
    except LetterError as err:
        raise FileGone(str(err)) from None
    return Attachment(letter_filename(facts), build_letter(facts), DOCX_MIMETYPE)


FILE_MAKERS: dict[str, FileMaker] = {
    "term-letter": term_letter_file,
}


def _page(status: int, text: str) -> Response:
    html = (f"<!doctype html><meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
            f"<title>支部助手</title><p style='font-size:18px'>{text}</p>")
    return Response(html, status=status, mimetype="text/html")


def files_blueprint(runtime: Runtime) -> Blueprint:
    bp = Blueprint("files", __name__)
    secret = runtime.settings.secret_key

    @bp.get("/files/<purpose>/<token>")
    def serve_file(purpose: str, token: str):
        maker = FILE_MAKERS.get(purpose)
        if maker is None:
            return _page(404, "没有这个文件。")
        try:
            data = read_token(secret, purpose, token, runtime.services.clock())
        except ExpiredToken:
            return _page(410, "链接已过期：请在机器人里重新获取。")
        except MalformedToken:
            return _page(400, "链接无效：请从机器人推送的消息里打开。")
        except BadToken:
            return _page(403, "链接无效：请从机器人推送的消息里打开。")
        try:
            with runtime.transaction() as session:
                file = maker(session, data)
        except MalformedToken:
            return _page(400, "链接无效：请从机器人推送的消息里打开。")
        except FileGone as err:
            return _page(404, f"{err}。")
        resp = Response(file.data, mimetype=file.mimetype)
        resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(file.filename)}"
        resp.headers["Cache-Control"] = "private, no-store"
        return resp

    return bp
