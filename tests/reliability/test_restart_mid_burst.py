"""The web server restarted in the middle of a sign-in burst (SIGTERM and start again; then SIGKILL of every worker):
after WeCom-style retries every member has exactly one attendance row: none lost, none doubled.
The heavy variant (about 500 members) is benchmarks/bench_restart.py; `pytest -s` prints the counts."""
from __future__ import annotations

from collections import Counter

from tests.pg import free_port
from tests.restart_burst import run_burst

MEMBERS = 60


def test_no_sign_in_is_lost_or_doubled_across_restarts(pg_cluster, fake_wecom, tmp_path):
    result = run_burst(pg_cluster.create_db("restart_burst"), free_port(), tmp_path, fake_wecom.url,
                       members=MEMBERS, concurrency=12)
    print(f"\nrestart mid-burst: {result.summary()}")
    assert result.rows_per_member == Counter({1: MEMBERS})
    assert len(result.restarts) == 3 and "SIGKILL of 0" not in result.restarts[2]
    # the restarts really hit the burst: some attempts failed and were retried
    assert sum(n for k, n in result.attempts.items() if k != "answered") > 0, result.summary()
    assert "http 4" not in " ".join(result.attempts)  # never refused: every retry was a valid message
