"""The core sign-in path on SQLite and PostgreSQL, and concurrent sign-ins resting on the unique constraint."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.channels import console
from bot.demo import seed_demo
from bot.messages import Incoming
from bot.push import ConsolePusher
from bot.runtime import build_runtime
from storage.db import transaction, upgrade
from storage.models import Attendance, Member, Organization
from tests.conftest import make_settings
from tests.signin_helpers import code_of, later, rows

CROWD = 40


@pytest.fixture
def runtime_any(any_db_url, clock, segmenter, pushed):
    upgrade(any_db_url)
    rt = build_runtime(make_settings(any_db_url), clock=clock, segmenter=segmenter,
                       pushers={"console": ConsolePusher(write=pushed.append)})
    with transaction(rt.sessions) as s:
        seed_demo(s)
        branch = s.scalars(select(Organization).where(Organization.name == "第一党支部")).one()
        for i in range(CROWD):
            s.add(Member(name=f"党员{i:03d}", organization_id=branch.id, wecom_userid=f"crowd-{i:03d}",
                         mobile=f"1370000{i:04d}", category="正式"))
    yield rt
    rt.close()


def say_on(rt, user: str, text: str) -> str:
    return console.say(rt.router, user, text)[0]


def test_core_sign_in_path(runtime_any, clock, pushed):
    rt = runtime_any
    code = code_of(say_on(rt, "demo-shuji", "发起签到 主题党日+党课"))
    later(clock, 3)
    assert say_on(rt, "demo-dangyuan", f"签到 {code}").startswith("签到成功")
    assert "已于10:03签到" in say_on(rt, "demo-dangyuan", f"qd {code}")
    later(clock, 10)
    assert "迟到 13 分钟" in say_on(rt, "demo-yubei", f"签到{code}")
    assert "不对或已失效" in say_on(rt, "demo-zuzhi", "签到 0999")
    assert "不在参会范围内" in say_on(rt, "demo-shuji2", f"签到 {code}")
    closed = say_on(rt, "demo-shuji", "结束签到")
    # the 书记 closed it: the summary is this reply, not pushed to them as well
    assert "应到 52 人，实到 3 人（出席 2，迟到 1）" in closed and pushed == []
    assert "签到已经结束" in say_on(rt, "demo-zuzhi", f"签到 {code}")
    assert {n: a.status for n, a in rows(rt, code).items()} == {"王建国": "present", "张伟": "present", "陈晨": "late"}


def test_concurrent_sign_ins_make_one_row_each(runtime_any):
    """Every member sends twice, all at once from 8 threads: one row per member, one success reply per member."""
    rt = runtime_any
    code = code_of(say_on(rt, "demo-shuji", "发起签到 主题党日"))
    messages = [Incoming(platform="wecom", user_id=f"crowd-{i:03d}", text=f"签到 {code}", message_id=f"m-{i}-{n}")
                for n in range(2) for i in range(CROWD)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda m: (m.user_id, rt.router.handle(m).text), messages))
    successes = [uid for uid, text in replies if text.startswith("签到成功")]
    repeats = [uid for uid, text in replies if "无需重复签到" in text]
    assert sorted(successes) == sorted(f"crowd-{i:03d}" for i in range(CROWD))
    assert sorted(repeats) == sorted(successes)
    with transaction(rt.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Attendance)) == CROWD + 1  # and the 书记 who opened it
        assert s.scalar(select(func.count(func.distinct(Attendance.member_id)))) == CROWD + 1


def test_scan_and_code_racing_make_one_row(runtime_any):
    """The same members signing in by QR (storage.signin, as the scan page does) and by code at once: one row each."""
    from storage import signin
    from storage.meetings import find_live_by_code
    from storage.members import find_by_platform_id

    rt = runtime_any
    code = code_of(say_on(rt, "demo-shuji", "发起签到 主题党日"))

    def scan(uid: str) -> bool:
        with transaction(rt.sessions) as s:
            now = rt.services.clock()
            meeting = find_live_by_code(s, code, now)
            return signin.sign_in(s, meeting, find_by_platform_id(s, "wecom", uid), now, via="qr").new

    def by_code(uid: str) -> bool:
        reply = rt.router.handle(Incoming(platform="wecom", user_id=uid, text=f"签到 {code}", message_id=f"c-{uid}"))
        return reply.text.startswith("签到成功")

    jobs = [(fn, f"crowd-{i:03d}") for i in range(CROWD) for fn in (scan, by_code)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        firsts = list(pool.map(lambda job: (job[1], job[0](job[1])), jobs))
    assert sorted(uid for uid, first in firsts if first) == sorted(f"crowd-{i:03d}" for i in range(CROWD))
    with transaction(rt.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Attendance)) == CROWD + 1  # and the 书记 who opened it
        assert {a.via for a in s.scalars(select(Attendance))} <= {"qr", "code", "opener"}
