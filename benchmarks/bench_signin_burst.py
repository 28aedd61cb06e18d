"""A sign-in burst: 1,000 members of one branch each send `签到 CODE` twice within 10 s through the WeCom callback.

gunicorn on loopback (2 workers × 8 threads, as `zhibu serve` deploys SQLite), on SQLite and then on a throwaway PostgreSQL cluster.
All 2,000 requests are encrypted before the clock starts and offered on a fixed schedule of 200 requests/s over 64
keep-alive connections; latency counts from each request's scheduled moment. The baseline is the same 2,000
requests, on the same schedule, to the bare decrypt-and-echo endpoint of the same server, measured just before.

BENCH_SIGNIN_MEMBERS, BENCH_SIGNIN_SECONDS, BENCH_SIGNIN_DBS (sqlite,postgres) and BENCH_SIGNIN_SERVER
(workers x threads, 2x8) change the run.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from benchmarks.loopback import (
    Answer,
    free_port,
    load,
    pct,
    server_cpu_seconds,
    start_gunicorn,
    stop,
    wecom_client,
    wecom_env,
)
from benchmarks.postgres import postgres_cluster, socket_database
from benchmarks.report import Figure
from benchmarks.signin_load import burst_requests, fake_wecom_api, open_meeting, outcome, pushed_texts, seed_branch

MEMBERS = int(os.environ.get("BENCH_SIGNIN_MEMBERS", "1000"))
SECONDS = float(os.environ.get("BENCH_SIGNIN_SECONDS", "10"))
DBS = os.environ.get("BENCH_SIGNIN_DBS", "sqlite,postgres").split(",")
WORKERS, THREADS = (int(x) for x in os.environ.get("BENCH_SIGNIN_SERVER", "2x8").split("x"))
CLIENTS = 64
WARM_UP = 200


def _run(url: str, name: str, tmp: Path, db_pid: int | None = None) -> list[Figure]:
    """db_pid: the PostgreSQL postmaster, whose backends' CPU counts as the server's too."""
    client = wecom_client()
    uids = seed_branch(url, MEMBERS)
    port = free_port()
    api = fake_wecom_api().start()  # replies that miss the callback's 3 s timeout are pushed here
    proc = start_gunicorn({**wecom_env(url), "ZHIBU_WECOM_API_BASE": api.url}, port, tmp / f"gunicorn-{name}.log",
                          WORKERS, THREADS)
    try:
        code = open_meeting(client, port)
        # warm-up: every worker thread connects to the database and loads what it lazily needs (帮助 writes only
        # its processed_messages row, so the burst still finds nobody signed in)
        warm = [client.encrypt_envelope(client.text_xml(uids[i % len(uids)], "帮助")) for i in range(WARM_UP)]
        warm_reqs = [(q, b.encode()) for q, b in warm]
        load(port, "/bench/echo", warm_reqs, clients=CLIENTS)
        load(port, "/wecom/callback", warm_reqs, clients=CLIENTS)
        reqs = burst_requests(client, uids, code)
        rate = len(reqs) / SECONDS
        echo: list[Answer | None] = [None] * len(reqs)
        cpu0 = server_cpu_seconds(proc.pid, db_pid)
        echo_s, echo_lat, echo_bad = load(port, "/bench/echo", reqs, rate=rate, clients=CLIENTS, answers=echo)
        cpu1, mine1 = server_cpu_seconds(proc.pid, db_pid), time.process_time()
        full: list[Answer | None] = [None] * len(reqs)
        full_s, full_lat, _ = load(port, "/wecom/callback", reqs, rate=rate, clients=CLIENTS, answers=full)
        cpu2, mine2 = server_cpu_seconds(proc.pid, db_pid), time.process_time()
    finally:
        stop(proc)
        api.stop()
    got = outcome(client, url, code, uids, full, pushed_texts(api))
    if got.unexpected:
        print(f"   [{name}] unexpected replies, e.g. {got.unexpected}", flush=True)
    echo_slow = sum(1 for a in echo if a is None or a.latency > 1.0)
    echo_within = max(a.sent_at for a in echo if a is not None)
    ms = 1000
    echo_cpu, full_cpu = (cpu1 - cpu0) / len(reqs), (cpu2 - cpu1) / len(reqs)
    cores = os.cpu_count() or 1
    setup = f"{name}, gunicorn {WORKERS}×{THREADS}, {MEMBERS} members × 2 sends in {SECONDS:g} s"
    return [
        Figure(f"[{setup}] attendance rows", got.rows, "rows", target=f"= {MEMBERS}"),
        Figure(f"[{setup}] lost (members without a row)", got.lost, "members", target="0"),
        Figure(f"[{setup}] duplicates (extra rows + members told 签到成功 twice)",
               got.duplicate_rows + got.double_success, "", target="0"),
        Figure(f"[{setup}] unanswered or unexpected replies", got.unanswered, "requests", echo_bad, "echo", "0"),
        Figure(f"[{setup}] acknowledged empty after 3 s, reply pushed instead", got.pushed_late, "requests",
               target="0"),
        Figure(f"[{setup}] replies over 1 s", got.slow, "requests", echo_slow, "echo", "0"),
        Figure(f"[{setup}] p50 reply latency", pct(full_lat, 50) * ms, "ms", pct(echo_lat, 50) * ms, "echo"),
        Figure(f"[{setup}] p99 reply latency", pct(full_lat, 99) * ms, "ms", pct(echo_lat, 99) * ms, "echo",
               "< 1000 ms"),
        Figure(f"[{setup}] max reply latency", max(full_lat) * ms, "ms", max(echo_lat) * ms, "echo", "< 1000 ms"),
        Figure(f"[{setup}] last of {len(reqs)} requests sent at", got.sent_within, "s", echo_within, "echo",
               f"≤ {SECONDS:g} s"),
        Figure(f"[{setup}] served rate (requests ÷ time to the last reply)", len(reqs) / full_s, "req/s",
               len(reqs) / echo_s, "echo", f"≥ {rate:g} req/s offered"),
        Figure(f"[{setup}] server CPU per request (gunicorn workers" + (" + PostgreSQL)" if db_pid else ")"),
               full_cpu * ms, "ms", echo_cpu * ms, "echo"),
        Figure(f"[{setup}] load generator CPU per request (this process, sharing the machine)",
               (mine2 - mine1) / len(reqs) * ms, "ms"),
        Figure(f"[{setup}] cores the server needs at {rate:g} req/s (this machine has {cores})", full_cpu * rate,
               "cores", echo_cpu * rate, "echo", f"well under {cores}"),
    ]


def main() -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in DBS:
            figures += _run(f"sqlite:///{Path(tmp) / 'burst.db'}", "SQLite", Path(tmp))
        if "postgres" in DBS:
            with postgres_cluster() as cluster:
                if cluster is not None:
                    figures += _run(socket_database(cluster, "burst"), "PostgreSQL", Path(tmp),
                                    cluster.postmaster_pid())
    return figures
