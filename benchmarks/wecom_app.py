"""What bench_wecom serves under gunicorn: the real app, plus a bare decrypt-and-echo endpoint on the same server.

The echo is the minimal wechatpy bot (decrypt, parse, reply with the same text, encrypt): the baseline the full
callback (dedupe, identity, roles, routing, handler, database) is measured against in the same run.
"""
from __future__ import annotations

import os

from flask import Flask, Response, request
from wechatpy.enterprise import create_reply, parse_message

from bot.app import create_app
from bot.channels.wecom.wire import CallbackCrypto
from bot.settings import load_settings


def create() -> Flask:
    settings = load_settings()
    app = create_app(settings)
    w = settings.wecom
    assert w is not None, "the benchmark needs ZHIBU_WECOM_*"
    crypto = CallbackCrypto(w.token, w.aes_key, w.corp_id)

    @app.post("/bench/echo")
    def echo():
        a = request.args
        try:
            plain = crypto.decrypt(request.get_data(), a["msg_signature"], a["timestamp"], a["nonce"])
        except Exception:
            return Response(b"", status=403)
        msg = parse_message(plain)
        xml = create_reply(msg.content, msg, render=True)
        return Response(crypto.encrypt_reply(xml, a["nonce"], a["timestamp"]).encode(), mimetype="application/xml")

    @app.get("/bench/worker")
    def worker():  # which gunicorn worker holds this keep-alive connection, to spread the clients evenly
        return str(os.getpid())

    return app
