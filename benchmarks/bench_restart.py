"""Heavy restart-mid-burst: about 500 members signing in over the WeCom callback of a real gunicorn (PostgreSQL on a
throwaway cluster) while the server is stopped with SIGTERM and started again, then has every worker SIGKILLed.
tests/restart_burst.py does the work; this prints its counts. The baseline is the same burst with no restart."""
from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks.postgres import postgres_cluster
from benchmarks.report import Figure

MEMBERS = int(os.environ.get("BENCH_RESTART_MEMBERS", "500"))
CONCURRENCY = 32


def main() -> list[Figure]:
    from tests.conftest import WECOM_AGENT_ID, WECOM_CORP_ID, WECOM_SECRET
    from tests.fakes.wecom_server import FakeWecomServer
    from tests.pg import free_port
    from tests.restart_burst import run_burst

    with postgres_cluster() as cluster:
        if cluster is None:
            return []
        with tempfile.TemporaryDirectory() as tmp, \
                FakeWecomServer(corp_id=WECOM_CORP_ID, secret=WECOM_SECRET, agent_id=WECOM_AGENT_ID) as wecom:
            folder = Path(tmp)
            result = run_burst(cluster.create_db("bench_restart"), free_port(), folder, wecom.url, MEMBERS,
                               CONCURRENCY)
    print(f"   restart mid-burst: {result.summary()}", flush=True)
    if result.rows_per_member != Counter({1: MEMBERS}):
        raise AssertionError(f"sign-ins lost or doubled: {dict(result.rows_per_member)}")
    retried = sum(n for k, n in result.attempts.items() if k != "answered")
    return [
        Figure("members with exactly one attendance row after the restarts", result.rows_per_member[1], "members",
               target=f"{MEMBERS} of {MEMBERS}"),
        Figure("members with no attendance row (lost)", result.rows_per_member[0], "members", target="0"),
        Figure("members with two or more rows (doubled)", sum(n for k, n in result.rows_per_member.items() if k > 1),
               "members", target="0"),
        Figure("requests sent, retries included", sum(result.attempts.values()), "requests"),
        Figure("failed attempts that were retried (connection, timeout, 5xx, empty)", retried, "attempts"),
        Figure("members whose passive reply was lost (signed in, reply never seen)", result.unanswered, "members"),
        Figure("burst duration with two restarts", result.seconds, "s"),
    ]
