"""A sign-in burst through a real gunicorn on loopback while the server is restarted: shared by
tests/reliability/test_restart_mid_burst.py (about 60 members) and benchmarks/bench_restart.py (about 500).

Members send `签到 CODE` over the WeCom callback with the encrypting client, concurrently. Each retries the way WeCom
does: the same MsgId, re-encrypted, up to 3 more times, about 5 s apart, on a connection error, a timeout, a 5xx or an
empty answer. In the middle of the burst the server is stopped with SIGTERM and started again; later every worker is
killed with SIGKILL (the master starts new ones). Afterwards each member must have exactly one attendance row.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import func, select

from bot.channels import console
from bot.demo import seed_demo
from bot.runtime import build_runtime
from storage.db import transaction, upgrade
from storage.models import Attendance, Member, Organization
from tests.conftest import WECOM_AES_KEY, WECOM_AGENT_ID, WECOM_CORP_ID, WECOM_TOKEN, make_settings, wecom_env
from tests.deploy_smoke import Deployment
from tests.fakes.wecom_client import WecomClient

RETRIES = 3  # after the first attempt, as WeCom does
RETRY_EVERY = 5.0  # WeCom gives up on an attempt after 5 s and sends again
PREFIX = "burst-"


@dataclass
class BurstResult:
    members: int
    # outcome of every attempt: answered / conn (refused, reset, cut off) / timeout / 5xx / empty
    attempts: Counter = field(default_factory=Counter)
    answered_on: Counter = field(default_factory=Counter)  # which attempt got the passive reply
    unanswered: int = 0  # members whose every attempt failed or came back empty
    restarts: list[str] = field(default_factory=list)
    rows_per_member: Counter = field(default_factory=Counter)  # attendance rows -> how many members have that many
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{self.members} members, {sum(self.attempts.values())} requests "
                f"({', '.join(f'{k} {v}' for k, v in sorted(self.attempts.items()))}); answered on attempt "
                f"{dict(sorted(self.answered_on.items()))}, unanswered {self.unanswered}; attendance rows per member "
                f"{dict(sorted(self.rows_per_member.items()))}; events: {'; '.join(self.restarts)}; "
                f"{self.seconds:.1f} s")


def prepare(db_url: str, members: int) -> str:
    """The demo data plus `members` extra members of 第一党支部, and an open sign-in; returns its code."""
    upgrade(db_url)
    rt = build_runtime(make_settings(db_url))
    try:
        with transaction(rt.sessions) as s:
            seed_demo(s)
            org = s.scalars(select(Organization).where(Organization.name == "第一党支部")).one()
            s.add_all(Member(name=f"成员{i:04d}", organization_id=org.id, wecom_userid=f"{PREFIX}{i:04d}",
                             mobile=f"1380000{i:04d}", category="正式") for i in range(members))
        reply, _ = console.say(rt.router, "demo-shuji", "发起签到 主题党日")
        assert "签到码：" in reply, reply
        return reply.split("签到码：")[1][:4]
    finally:
        rt.close()


def rows_per_member(db_url: str) -> Counter:
    rt = build_runtime(make_settings(db_url))
    try:
        with rt.sessions() as s:
            counts = dict(s.execute(select(Member.wecom_userid, func.count(Attendance.id))
                                    .outerjoin(Attendance, Attendance.member_id == Member.id)
                                    .where(Member.wecom_userid.like(f"{PREFIX}%")).group_by(Member.wecom_userid)).all())
        return Counter(counts.values())
    finally:
        rt.close()


def run_burst(db_url: str, port: int, folder: Path, wecom_api: str, members: int, concurrency: int,
              workers: int = 2) -> BurstResult:
    code = prepare(db_url, members)
    client = WecomClient(WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP_ID, WECOM_AGENT_ID)
    deployment = Deployment(db_url, port, folder, wecom_env(wecom_api))
    server_args = {"GUNICORN_CMD_ARGS": f"--workers {workers}"}
    result = BurstResult(members)
    lock = threading.Lock()
    done = [0]

    def sign_in(i: int) -> None:
        user = f"{PREFIX}{i:04d}"
        xml = client.text_xml(user, f"签到 {code}", msg_id=client.next_msg_id())  # one MsgId for every retry
        url = f"{deployment.base}/wecom/callback"
        answered = False
        with requests.Session() as http:
            http.trust_env = False
            for attempt in range(1 + RETRIES):
                started = time.monotonic()
                try:
                    res = client.post(url, xml, session=http, timeout=RETRY_EVERY)
                    outcome = "5xx" if res.status_code >= 500 else "empty" if not res.content else \
                        f"http {res.status_code}" if res.status_code != 200 else "answered"
                except requests.Timeout:
                    outcome = "timeout"
                except requests.RequestException:  # refused, reset, or cut off mid-answer
                    outcome = "conn"
                with lock:
                    result.attempts[outcome] += 1
                if outcome == "answered":
                    reply = client.open_reply(res.content).content
                    assert "签到成功" in reply, reply
                    with lock:
                        result.answered_on[attempt + 1] += 1
                    answered = True
                    break
                http.close()  # a fresh connection for the retry, as WeCom's would be
                time.sleep(max(0.5, RETRY_EVERY - (time.monotonic() - started)))
        with lock:
            result.unanswered += not answered
            done[0] += 1

    try:
        deployment.start_web(server_args)
        deployment.wait_for("/healthz")
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = [pool.submit(sign_in, i) for i in range(members)]
            _wait_until(lambda: done[0] >= members // 4)
            result.restarts.append(f"SIGTERM after {done[0]} members done")
            assert deployment.stop(deployment.web) == 0
            deployment.start_web(server_args)
            result.restarts.append(f"restarted after {done[0]} done")
            deployment.wait_for("/healthz")
            _wait_until(lambda: done[0] >= members // 2)
            killed = deployment.kill_workers()
            result.restarts.append(f"SIGKILL of {len(killed)} workers after {done[0]} done")
            for f in futures:
                f.result()
        result.seconds = time.monotonic() - started
        assert deployment.stop(deployment.web) == 0
    finally:
        deployment.close()
    result.rows_per_member = rows_per_member(db_url)
    return result


def _wait_until(predicate, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the burst stalled")
        time.sleep(0.01)
