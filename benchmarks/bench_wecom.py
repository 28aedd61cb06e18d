"""The WeCom callback under gunicorn on loopback: the full path for 帮助 vs a bare decrypt-and-echo, same server.

32 concurrent keep-alive clients, every request a distinct, properly encrypted WeCom message (encrypted before the
clock starts). The two endpoints alternate in rounds so both see the same machine conditions.
"""
from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.report import Figure

ROOT = Path(__file__).resolve().parent.parent
TOKEN, AES_KEY, CORP_ID, AGENT_ID = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7", 1000002
CLIENTS = 32
PER_ROUND = int(os.environ.get("BENCH_WECOM_REQUESTS", "3000"))
ROUNDS = 2
PACED_SECONDS = 5
# gunicorn workers x threads: one process is the SQLite deployment (one writer); two use both cores
CONFIGS = os.environ.get("BENCH_WECOM_CONFIGS", "1x4,2x4").split(",")
USERS = ["demo-shuji", "demo-zuzhi", "demo-dangyuan", "demo-yubei", "demo-shuji2", "demo-dangwei"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare_db(url: str) -> None:
    from storage.db import make_engine, make_session_factory, transaction, upgrade
    from storage.demo import seed_demo

    upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        seed_demo(session)
    engine.dispose()


def _start(env: dict[str, str], port: int, log: Path, workers: int, threads: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gunicorn", "--preload", "-w", str(workers), "-k", "gthread",
           "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--keep-alive", "30",
           "--log-level", "warning", "benchmarks.wecom_app:create()"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("gunicorn did not start within 60 s")


def _requests(client, n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        query, body = client.encrypt_envelope(client.text_xml(USERS[i % len(USERS)], "帮助"))
        out.append((query, body.encode()))
    return out


def _load(port: int, path: str, reqs: list[tuple[str, bytes]], rate: float | None = None
          ) -> tuple[float, list[float], int]:
    """(seconds, latencies, failures) for reqs spread over CLIENTS keep-alive connections.

    rate=None: closed loop, each client sends its next request as soon as the last is answered (saturation).
    rate=R: the clients together offer R requests/s on a fixed schedule; latency counts from the scheduled moment,
    so a server falling behind is not hidden by the clients waiting for it.
    """
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    shares = [reqs[i::CLIENTS] for i in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS + 1)
    start = [0.0]

    def client(i: int, share):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], 0
        barrier.wait()
        for k, (query, body) in enumerate(share):
            t0 = time.perf_counter()
            if rate:
                due = start[0] + (k * CLIENTS + i) / rate
                if due > t0:
                    time.sleep(due - t0)
                t0 = due
            try:
                conn.request("POST", f"{path}?{query}", body=body, headers={"Content-Type": "text/xml"})
                res = conn.getresponse()
                data = res.read()
                if res.status != 200 or not data:
                    bad += 1
            except OSError:
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    threads = [threading.Thread(target=client, args=(i, s)) for i, s in enumerate(shares)]
    for t in threads:
        t.start()
    start[0] = time.perf_counter() + 0.05
    barrier.wait()
    for t in threads:
        t.join()
    return time.perf_counter() - start[0], latencies, failures[0]


def _pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


def _measure(client, env: dict[str, str], workers: int, threads: int, tmp: Path) -> list[Figure]:
    port = _free_port()
    proc = _start(env, port, tmp / f"gunicorn-{workers}x{threads}.log",
                  workers, threads)
    endpoints = (("echo", "/bench/echo"), ("full", "/wecom/callback"))
    try:
        # warm-up: every worker thread connects to the database and loads what it lazily needs
        for _, path in endpoints:
            _load(port, path, _requests(client, 400))
        sat: dict[str, list] = {name: [0.0, [], 0, 0] for name, _ in endpoints}
        for _ in range(ROUNDS):  # alternate, so both see the same machine conditions
            for name, path in endpoints:
                reqs = _requests(client, PER_ROUND)
                seconds, lat, bad = _load(port, path, reqs)
                r = sat[name]
                r[0] += seconds
                r[1].extend(lat)
                r[2] += bad
                r[3] += len(reqs)
        full_tput = sat["full"][3] / sat["full"][0]
        echo_tput = sat["echo"][3] / sat["echo"][0]
        # below saturation: both endpoints offered the same steady load, half of what the full path can take
        rate = round(full_tput / 2)
        paced = {name: _load(port, path, _requests(client, max(rate * PACED_SECONDS, CLIENTS)), rate=rate)
                 for name, path in endpoints}
        # the full path really answered 帮助: open one reply as WeCom would
        query, body = client.encrypt_envelope(client.text_xml("demo-dangyuan", "帮助"))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", f"/wecom/callback?{query}", body=body.encode())
        assert "看看我能做什么" in client.open_reply(conn.getresponse().read()).content
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    setup = f"gunicorn gthread {workers} worker{'s' if workers > 1 else ''} × {threads} threads"
    full, echo = sat["full"], sat["echo"]
    ms = 1000
    return [
        Figure(f"[{setup}] full callback 帮助 throughput, {CLIENTS} clients closed loop", full_tput, "req/s",
               echo_tput, "bare decrypt-and-echo", "≥ 0.60× of echo"),
        Figure(f"[{setup}] p50 latency at saturation", _pct(full[1], 50) * ms, "ms", _pct(echo[1], 50) * ms,
               "echo"),
        Figure(f"[{setup}] p99 latency at saturation", _pct(full[1], 99) * ms, "ms", _pct(echo[1], 99) * ms,
               "echo", "≤ 50 ms"),
        Figure(f"[{setup}] p50 latency, {CLIENTS} clients offering {rate} req/s", _pct(paced["full"][1], 50) * ms,
               "ms", _pct(paced["echo"][1], 50) * ms, "echo"),
        Figure(f"[{setup}] p99 latency, {CLIENTS} clients offering {rate} req/s", _pct(paced["full"][1], 99) * ms,
               "ms", _pct(paced["echo"][1], 99) * ms, "echo", "≤ 50 ms"),
        Figure(f"[{setup}] failed or empty responses", float(full[2] + echo[2] + paced["full"][2]
                                                              + paced["echo"][2]), "requests", target="0"),
    ]


def main() -> list[Figure]:
    sys.path.insert(0, str(ROOT))
    from tests.fakes.wecom_client import WecomClient

    client = WecomClient(TOKEN, AES_KEY, CORP_ID, AGENT_ID)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        _prepare_db(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
        env.update({"ZHIBU_DATABASE_URL": url, "ZHIBU_SECRET_KEY": "bench-secret-key-0123456789",
                    "ZHIBU_WECOM_CORP_ID": CORP_ID, "ZHIBU_WECOM_AGENT_ID": str(AGENT_ID),
                    "ZHIBU_WECOM_SECRET": "unused", "ZHIBU_WECOM_TOKEN": TOKEN, "ZHIBU_WECOM_AES_KEY": AES_KEY,
                    "ZHIBU_WECOM_API_BASE": "http://127.0.0.1:9/cgi-bin/", "PYTHONPATH": str(ROOT)})
        for config in CONFIGS:
            workers, threads = (int(x) for x in config.split("x"))
            figures += _measure(client, env, workers, threads, Path(tmp))
    return figures
