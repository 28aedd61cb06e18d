"""A sign-in burst through a real WeCom callback server (gunicorn, 2 workers): every member once, none twice.

100 members each send `签到 CODE` twice with distinct MsgIds (a double tap, not a retry), the two sends on separate
connections at nearly the same moment. Runs on SQLite, and on PostgreSQL in `make test`'s second pass (db_url).
Timings are the benchmark's business (benchmarks/bench_signin_burst.py); this checks only the outcome.
"""
from __future__ import annotations

from benchmarks.loopback import Answer, free_port, load, start_gunicorn, stop, wecom_client, wecom_env
from benchmarks.signin_load import burst_requests, fake_wecom_api, open_meeting, outcome, pushed_texts, seed_branch

MEMBERS = 100


def test_hundred_members_signing_in_twice_each_leave_exactly_one_row_each(db_url, tmp_path):
    client = wecom_client()
    uids = seed_branch(db_url, MEMBERS)
    port = free_port()
    with fake_wecom_api() as api:  # where a reply that missed the callback's timeout is pushed instead
        proc = start_gunicorn({**wecom_env(db_url), "ZHIBU_WECOM_API_BASE": api.url}, port,
                              tmp_path / "gunicorn.log", workers=2, threads=4)
        try:
            code = open_meeting(client, port)
            reqs = burst_requests(client, uids, code)
            answers: list[Answer | None] = [None] * len(reqs)
            # 200 requests offered at 50/s over 16 connections: the pairs overlap across connections and workers
            load(port, "/wecom/callback", reqs, rate=50, clients=16, answers=answers)
        finally:
            stop(proc)  # after its pending late pushes: gunicorn lets workers finish
        pushed = pushed_texts(api)
    got = outcome(client, db_url, code, uids, answers, pushed)
    assert got.unexpected == []
    assert got.rows == MEMBERS
    assert got.lost == 0
    assert got.duplicate_rows == 0
    assert got.double_success == 0  # each member told 签到成功 once and 无需重复签到 once
    assert got.unanswered == 0
    assert got.correct
