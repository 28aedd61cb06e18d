"""What bench_wecom serves under gunicorn: the real app, plus two baselines on the same server.

- the echo: the minimal wechatpy bot (decrypt, parse, reply with the same text, encrypt);
- the correct floor: the echo plus one committed `INSERT … ON CONFLICT DO NOTHING` of the message id through plain
  SQLAlchemy Core on the same database — the least any bot that survives a platform's retries must do.
The full callback (dedupe, identity, roles, routing, handler) is measured against the floor in the same run.
"""
from __future__ import annotations

import os

from flask import Flask, Response, request
from wechatpy.enterprise import create_reply, parse_message

from bot.app import create_app
from bot.channels.wecom.wire import CallbackCrypto
from bot.settings import load_settings
from storage.db import insert_unless_present
from storage.models import ProcessedMessage, utcnow


def create() -> Flask:
    settings = load_settings()
    app = create_app(settings)
    w = settings.wecom
    assert w is not None, "the benchmark needs ZHIBU_WECOM_*"
    crypto = CallbackCrypto(w.token, w.aes_key, w.corp_id)
    engine = app.extensions["zhibu"].engine
    record = insert_unless_present(ProcessedMessage.__table__, ["platform", "key"], engine.dialect.name)

    def answer(remember: bool) -> Response:
        a = request.args
        try:
            plain = crypto.decrypt(request.get_data(), a["msg_signature"], a["timestamp"], a["nonce"])
        except Exception:
            return Response(b"", status=403)
        msg = parse_message(plain)
        if remember:
            with engine.begin() as conn:
                conn.execute(record.values(platform="floor", key=str(msg.id), seen_at=utcnow()))
        xml = create_reply(msg.content, msg, render=True)
        return Response(crypto.encrypt_reply(xml, a["nonce"], a["timestamp"]).encode(), mimetype="application/xml")

    @app.post("/bench/echo")
    def echo():
        return answer(remember=False)

    @app.post("/bench/floor")
    def floor():
        return answer(remember=True)

    @app.get("/bench/worker")
    def worker():  # which gunicorn worker holds this keep-alive connection, to spread the clients evenly
        return str(os.getpid())

    return app
