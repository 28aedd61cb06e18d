"""The WeCom callback under gunicorn on loopback: the full path for 帮助 vs the correct floor (decrypt, one committed
INSERT of the message id, encrypt) and a bare decrypt-and-echo, on the same server.

Served as `zhibu serve` deploys it: gunicorn's workers × threads from bot.serve.gunicorn_options for the database,
on SQLite and then on a throwaway PostgreSQL cluster reached through its Unix socket as deploy/README.md has
the server connect (its CPU, on the same cores, counts as the server's).
32 keep-alive clients, spread evenly over the workers (nginx in front opens a connection per request, so no worker
keeps a share of clients), the same connections for both endpoints; every request a distinct, properly encrypted
WeCom message, encrypted before the clock starts. The endpoints alternate in rounds so all see the same machine
conditions.

BENCH_WECOM_CONFIGS (default "sqlite,postgres") picks the setups; "sqlite:1x4" forces workers × threads.
"""
from __future__ import annotations

import http.client
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.loopback import (
    CLIENTS,
    free_port,
    load,
    pct,
    spread_connections,
    start_gunicorn,
    stop,
    tree_cpu_seconds,
    wecom_client,
    wecom_env,
)
from benchmarks.postgres import postgres_cluster, socket_database
from benchmarks.report import Figure
from bot.serve import gunicorn_options

PER_ROUND = int(os.environ.get("BENCH_WECOM_REQUESTS", "3000"))
ROUNDS = 3  # alternating rounds: the machine's speed drifts, and both endpoints should see the same drift
PACED_SECONDS = 5
CONFIGS = os.environ.get("BENCH_WECOM_CONFIGS", "sqlite,postgres").split(",")
USERS = ["demo-shuji", "demo-zuzhi", "demo-dangyuan", "demo-yubei", "demo-shuji2", "demo-dangwei"]


def _prepare_db(url: str) -> None:
    from bot.demo import seed_demo
    from storage.db import make_engine, make_session_factory, transaction, upgrade

    upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        seed_demo(session)
    engine.dispose()


def _requests(client, n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        query, body = client.encrypt_envelope(client.text_xml(USERS[i % len(USERS)], "帮助"))
        out.append((query, body.encode()))
    return out


@dataclass
class _Tally:
    """One endpoint's closed-loop rounds added up."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    requests: int = 0
    cpu: float = 0.0  # CPU seconds of all gunicorn processes during the rounds
    db_cpu: float = 0.0  # and of PostgreSQL's processes, on the same cores

    @property
    def server_ms(self) -> float:
        """Server CPU per request, PostgreSQL's included, in ms."""
        return (self.cpu + self.db_cpu) / self.requests * 1000


def _measure(client, env: dict[str, str], workers: int, threads: int, tmp: Path, database: str,
             db_pid: int | None) -> list[Figure]:
    port = free_port()
    proc = start_gunicorn(env, port, tmp / f"gunicorn-{database}-{workers}x{threads}.log", workers, threads)
    endpoints = (("echo", "/bench/echo"), ("floor", "/bench/floor"), ("full", "/wecom/callback"))
    try:
        conns = spread_connections(port, CLIENTS, workers)
        # warm-up: every worker thread connects to the database and loads what it lazily needs
        for _, path in endpoints:
            load(port, path, _requests(client, 400), conns=conns)
        sat = {name: _Tally() for name, _ in endpoints}
        for _ in range(ROUNDS):  # alternate, so both see the same machine conditions
            for name, path in endpoints:
                reqs = _requests(client, PER_ROUND)
                cpu_before, db_before = tree_cpu_seconds(proc.pid), tree_cpu_seconds(db_pid) if db_pid else 0.0
                seconds, lat, bad = load(port, path, reqs, conns=conns)
                t = sat[name]
                t.seconds += seconds
                t.latencies.extend(lat)
                t.failed += bad
                t.requests += len(reqs)
                t.cpu += tree_cpu_seconds(proc.pid) - cpu_before
                t.db_cpu += (tree_cpu_seconds(db_pid) - db_before) if db_pid else 0.0
        full, floor, echo = sat["full"], sat["floor"], sat["echo"]
        full_tput, floor_tput = full.requests / full.seconds, floor.requests / floor.seconds
        echo_tput = echo.requests / echo.seconds
        # below saturation: both endpoints offered the same steady load, half of what the full path can take
        rate = round(full_tput / 2)
        paced = {name: load(port, path, _requests(client, max(rate * PACED_SECONDS, CLIENTS)), rate=rate,
                            conns=conns)
                 for name, path in endpoints}
        # the full path really answered 帮助: open one reply as WeCom would
        query, body = client.encrypt_envelope(client.text_xml("demo-dangyuan", "帮助"))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", f"/wecom/callback?{query}", body=body.encode())
        assert "看看我能做什么" in client.open_reply(conn.getresponse().read()).content
    finally:
        stop(proc)

    setup = f"{database}, gunicorn gthread {workers} worker{'s' if workers > 1 else ''} × {threads} threads"
    ms = 1000
    return [
        Figure(f"[{setup}] full callback 帮助 throughput, {CLIENTS} clients closed loop", full_tput, "req/s",
               floor_tput, "correct floor", "≥ 0.60× of the floor"),
        Figure(f"[{setup}] correct floor throughput (decrypt, one committed INSERT, encrypt)", floor_tput, "req/s",
               echo_tput, "bare decrypt-and-echo"),
        Figure(f"[{setup}] server CPU per request at saturation (gunicorn workers"
               + (" + PostgreSQL)" if db_pid else ")"), full.server_ms, "ms", floor.server_ms, "floor"),
        *([Figure(f"[{setup}] of which PostgreSQL's processes (the echo uses none)",
                  full.db_cpu / full.requests * ms, "ms")] if db_pid else []),
        Figure(f"[{setup}] p50 latency at saturation", pct(full.latencies, 50) * ms, "ms",
               pct(floor.latencies, 50) * ms, "floor"),
        Figure(f"[{setup}] p99 latency at saturation", pct(full.latencies, 99) * ms, "ms",
               pct(floor.latencies, 99) * ms, "floor", "≤ 50 ms"),
        Figure(f"[{setup}] p50 latency, {CLIENTS} clients offering {rate} req/s", pct(paced["full"][1], 50) * ms,
               "ms", pct(paced["floor"][1], 50) * ms, "floor"),
        Figure(f"[{setup}] p99 latency, {CLIENTS} clients offering {rate} req/s", pct(paced["full"][1], 99) * ms,
               "ms", pct(paced["floor"][1], 99) * ms, "floor", "≤ 50 ms"),
        Figure(f"[{setup}] failed or empty responses",
               float(sum(t.failed for t in sat.values()) + sum(p[2] for p in paced.values())), "requests",
               target="0"),
    ]


def _setups() -> list[tuple[str, int, int]]:
    """(database, workers, threads) for each BENCH_WECOM_CONFIGS entry: "sqlite", "postgres" or "sqlite:1x4"."""
    out = []
    for entry in CONFIGS:
        database, _, forced = entry.strip().partition(":")
        if forced:
            workers, threads = (int(x) for x in forced.split("x"))
        else:
            options = gunicorn_options(database_url=f"{database}://")
            workers, threads = options["workers"], options["threads"]
        out.append((database, workers, threads))
    return out


def main() -> list[Figure]:
    client = wecom_client()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        for database, workers, threads in _setups():
            if database == "sqlite":
                url = f"sqlite:///{Path(tmp) / f'bench-{workers}x{threads}.db'}"
                _prepare_db(url)
                figures += _measure(client, wecom_env(url), workers, threads, Path(tmp), "SQLite", None)
                continue
            with postgres_cluster() as cluster:
                if cluster is None:
                    continue
                url = socket_database(cluster, f"bench_wecom_{workers}x{threads}")
                _prepare_db(url)
                figures += _measure(client, wecom_env(url), workers, threads, Path(tmp), "PostgreSQL",
                                    cluster.postmaster_pid())
    return figures
