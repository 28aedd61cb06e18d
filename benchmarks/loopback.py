"""The WeCom app under gunicorn on loopback, and keep-alive clients that load it: shared by the WeCom benchmarks
(and the sign-in burst test).

`start_gunicorn` serves benchmarks.wecom_app (the real app plus a bare decrypt-and-echo endpoint) with the WeCom
channel configured from `wecom_env`; `load` sends pre-encrypted requests over many keep-alive connections, either
closed loop (saturation) or on a fixed schedule (latency counted from the scheduled moment).
"""
from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN, AES_KEY, CORP_ID, AGENT_ID = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7", 1000002
CLIENTS = 32

Request = tuple[str, bytes]  # (query string, body) of one encrypted callback POST


@dataclass
class Answer:
    """What one request got: HTTP status (0 when the connection failed), body, and timings from the start."""

    status: int
    body: bytes
    latency: float  # seconds, from the scheduled moment (paced) or from sending (closed loop)
    sent_at: float  # seconds after the start when the request actually went out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wecom_client():
    sys.path.insert(0, str(ROOT))
    from tests.fakes.wecom_client import WecomClient

    return WecomClient(TOKEN, AES_KEY, CORP_ID, AGENT_ID)


def wecom_env(db_url: str) -> dict[str, str]:
    """The server's environment: this database, the WeCom channel on, pushes aimed at a closed port."""
    # the server's own ZHIBU_* only; ZHIBU_HANDLER_THREADS may be set to compare pool sizes
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_") or k == "ZHIBU_HANDLER_THREADS"}
    env.update({"ZHIBU_DATABASE_URL": db_url, "ZHIBU_SECRET_KEY": "bench-secret-key-0123456789",
                "ZHIBU_WECOM_CORP_ID": CORP_ID, "ZHIBU_WECOM_AGENT_ID": str(AGENT_ID),
                "ZHIBU_WECOM_SECRET": "unused", "ZHIBU_WECOM_TOKEN": TOKEN, "ZHIBU_WECOM_AES_KEY": AES_KEY,
                "ZHIBU_WECOM_API_BASE": "http://127.0.0.1:9/cgi-bin/", "PYTHONPATH": str(ROOT)})
    return env


def start_gunicorn(env: dict[str, str], port: int, log: Path, workers: int, threads: int,
                   app: str = "benchmarks.wecom_app:create()", timeout_s: float = 60) -> subprocess.Popen:
    """gunicorn gthread on 127.0.0.1:port, returned once /healthz answers."""
    cmd = [sys.executable, "-m", "gunicorn", "--preload", "-w", str(workers), "-k", "gthread",
           "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--keep-alive", "30",
           "--log-level", "warning", app]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
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
    stop(proc)
    raise RuntimeError(f"gunicorn did not start within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def post(port: int, path: str, req: Request, timeout: float = 10) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        query, body = req
        conn.request("POST", f"{path}?{query}", body=body, headers={"Content-Type": "text/xml"})
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def spread_connections(port: int, n: int, workers: int) -> list[http.client.HTTPConnection]:
    """n keep-alive connections, as evenly spread over the gunicorn workers as n allows.

    A worker keeps the connections it accepted; 32 clients connecting at once otherwise land mostly on whichever
    worker was awake, and the run measures that one process. Asks benchmarks.wecom_app's /bench/worker which worker
    holds each connection, and keeps opening until every worker has its share.
    """
    share = -(-n // workers)
    held: dict[bytes, list[http.client.HTTPConnection]] = {}
    extra: list[http.client.HTTPConnection] = []
    for _ in range(n * 20):
        if sum(len(c) for c in held.values()) == n:
            break
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/bench/worker")
        mine = held.setdefault(conn.getresponse().read(), [])
        (mine if len(mine) < share else extra).append(conn)
    for conn in extra:
        conn.close()
    spread = [conn for conns in held.values() for conn in conns]
    if len(spread) < n or len(held) != workers:
        raise RuntimeError(f"could not spread {n} connections over {workers} workers: {[len(c) for c in held.values()]}")
    return spread


def load(port: int, path: str, reqs: list[Request], rate: float | None = None, clients: int = CLIENTS,
         answers: list[Answer | None] | None = None, conns: list[http.client.HTTPConnection] | None = None
         ) -> tuple[float, list[float], int]:
    """(seconds, latencies, failures) for reqs spread over `clients` keep-alive connections.

    rate=None: closed loop, each client sends its next request as soon as the last is answered (saturation).
    rate=R: the clients together offer R requests/s on a fixed schedule (request i is due at i/R); latency counts
    from the scheduled moment, so a server falling behind is not hidden by the clients waiting for it.
    A failure is a connection error, a status other than 200, or an empty body. `answers`, when given (a list as
    long as reqs), receives each request's Answer at its index. `conns`, when given, are the connections to use
    (one per client, left open); otherwise each client opens its own.
    """
    if conns is not None:
        clients = len(conns)
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    start = [0.0]

    def client(i: int):
        conn = conns[i] if conns is not None else http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], 0
        barrier.wait()
        for index in range(i, len(reqs), clients):
            query, body = reqs[index]
            t0 = time.perf_counter()
            if rate:
                due = start[0] + index / rate
                if due > t0:
                    time.sleep(due - t0)
                sent, t0 = time.perf_counter(), due
            else:
                sent = t0
            status, data = 0, b""
            try:
                conn.request("POST", f"{path}?{query}", body=body, headers={"Content-Type": "text/xml"})
                res = conn.getresponse()
                status, data = res.status, res.read()
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                if conns is not None:
                    conns[i] = conn
            if status != 200 or not data:
                bad += 1
            latency = time.perf_counter() - t0
            mine.append(latency)
            if answers is not None:
                answers[index] = Answer(status, data, latency, sent - start[0])
        if conns is None:
            conn.close()
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    start[0] = time.perf_counter() + 0.05
    barrier.wait()
    for t in threads:
        t.join()
    return time.perf_counter() - start[0], latencies, failures[0]


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU time (user + system) used so far by a live process and all its live descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        pid = int(entry)
        parent[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    total, todo = 0.0, [root_pid]
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(children.get(pid, ()))
    return total


def server_cpu_seconds(gunicorn_pid: int, db_pid: int | None = None) -> float:
    """CPU used so far by gunicorn and its workers, plus the PostgreSQL server's processes when db_pid is given."""
    return tree_cpu_seconds(gunicorn_pid) + (tree_cpu_seconds(db_pid) if db_pid else 0.0)


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]
