"""Files members open from a signed link: GET /files/<purpose>/<token>.

Each purpose has a maker (bot.files.FILE_MAKERS) that builds the file from the database on request, the same one that
builds it for a chat reply. A maker checks the shape of the token's data and raises MalformedToken when it is not what
the link carries: the page answers 403, never 500. A link made for one member's request (`by` in the data) works only
while that member is still on the roster.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response

from bot.files import BY, FILE_MAKERS, FileGone
from bot.runtime import Runtime
from bot.signing import BadToken, ExpiredToken, MalformedToken, id_field, read_token
from storage.models import Member

__all__ = ["FILE_MAKERS", "FileGone", "files_blueprint"]


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
        except BadToken:
            return _page(403, "链接无效：请从机器人推送的消息里打开。")
        try:
            with runtime.reading() as session:
                if BY in data:
                    member = session.get(Member, id_field(data, BY))
                    if member is None or member.status != "active":
                        return _page(403, "这个链接的申请人已不在党员名单里，不能再下载。")
                file = maker(session, data)
        except MalformedToken:
            return _page(403, "链接无效：请从机器人推送的消息里打开。")
        except FileGone as err:
            return _page(404, f"{err}。")
        resp = Response(file.data, mimetype=file.mimetype)
        resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(file.filename)}"
        resp.headers["Cache-Control"] = "private, no-store"
        return resp

    return bp
