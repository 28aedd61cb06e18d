"""The web app's own error pages in Chinese: a wrong address (404), a wrong method (405), a failure (500).

Pages that answer an error themselves (a sign-in link for a meeting that is gone, an expired file link) keep their own
wording; these cover everything else. A client asking for JSON gets the same message as JSON.
"""
from __future__ import annotations

import logging
from html import escape

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PAGES = {
    404: ("找不到这个页面", "请检查链接是否完整。签到请扫描会场的二维码，或在企业微信、钉钉里给支部助手发送“签到 签到码”。"),
    405: ("不能这样打开这个地址", "这个地址只接受企业微信、钉钉或签到页面的请求。请从机器人发来的链接或会场的二维码进入。"),
    500: ("服务器出错了", "请稍后再试；如果一直这样，请告诉支部书记或系统管理员。"),
}
OTHER = ("请求没有完成", "请从机器人发来的链接或会场的二维码重新进入；如果一直这样，请告诉支部书记。")


def page(status: int) -> Response:
    title, text = PAGES.get(status, OTHER)
    if request.accept_mimetypes.best == "application/json":
        response = jsonify(error=title, message=text)
        response.status_code = status
        return response
    html = ("<!doctype html><html lang='zh-CN'><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width'>"
            f"<title>{escape(title)} - 支部助手</title>"
            f"<h1 style='font-size:22px'>{escape(title)}</h1><p style='font-size:18px'>{escape(text)}</p>")
    return Response(html, status=status, mimetype="text/html")


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if err.code is None or err.code < 400:
            return err
        response = page(err.code)
        if err.code == 405 and err.valid_methods:
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response

    @app.errorhandler(Exception)
    def failure(err: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return page(500)
