"""DingTalk HTTP callback: verify → parse → route → render, beside a bare verify-and-echo endpoint in the same run.

Both run in-process through Flask's test client on a temporary SQLite file with the demo data, so the figure is
the cost our channel and router add to a request, not the network's.
"""
from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from pathlib import Path

from flask import Flask, jsonify, request

from benchmarks.report import Figure
from bot.app import create_app
from bot.channels.dingtalk.sign import robot_sign, verify_callback
from bot.demo import seed_demo
from bot.runtime import build_runtime
from bot.settings import load_settings
from storage.db import transaction, upgrade

SECRET = "bench-app-secret"
N = 300


def _headers() -> dict[str, str]:
    ts = str(int(time.time() * 1000))
    return {"timestamp": ts, "sign": robot_sign(ts, SECRET)}


def _body(text: str) -> dict:
    return {"msgtype": "text", "text": {"content": text}, "msgId": uuid.uuid4().hex, "conversationType": "1",
            "senderStaffId": "demo-dangyuan", "conversationId": "cid1"}


def _echo_app() -> Flask:
    app = Flask("echo")

    @app.post("/dingtalk/callback")
    def echo():
        if not verify_callback(request.headers.get("timestamp"), request.headers.get("sign"), SECRET,
                               int(time.time() * 1000)):
            return jsonify(error="sign"), 403
        body = request.get_json()
        return jsonify(msgtype="text", text={"content": body["text"]["content"]})

    return app


def _per_request_ms(client, text: str) -> list[float]:
    times = []
    for _ in range(N):
        body, headers = _body(text), _headers()
        start = time.perf_counter()
        resp = client.post("/dingtalk/callback", json=body, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200
    return times


def main() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        settings = load_settings({"ZHIBU_DATABASE_URL": url, "ZHIBU_SECRET_KEY": "bench-secret-key-0123456789",
                                  "ZHIBU_DINGTALK_APP_KEY": "k", "ZHIBU_DINGTALK_APP_SECRET": SECRET,
                                  "ZHIBU_DINGTALK_ROBOT_CODE": "r"}, dotenv=None)
        rt = build_runtime(settings)
        try:
            with transaction(rt.sessions) as session:
                seed_demo(session)
            ours = create_app(runtime=rt).test_client()
            echo = _echo_app().test_client()
            _per_request_ms(ours, "帮助")  # warm-up: jieba, caches
            base = statistics.median(_per_request_ms(echo, "我的信息"))
            info = _per_request_ms(ours, "我的信息")
        finally:
            rt.close()
    median, p99 = statistics.median(info), statistics.quantiles(info, n=100)[98]
    return [
        Figure("DingTalk callback 我的信息, median", median, "ms", base, "verify-and-echo endpoint"),
        Figure("DingTalk callback 我的信息, p99 (sequential)", p99, "ms"),
        Figure("DingTalk callback throughput (one thread)", 1000 / median, "req/s", 1000 / base,
               "verify-and-echo endpoint"),
    ]
