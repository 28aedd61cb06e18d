"""What `zhibu say` and `zhibu remind plan` print is the reply and nothing else: a log line (such as the working-day
fallback's note for a year chinese_calendar does not know yet) goes to stderr, never into the reply on stdout."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parent.parent

LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}|WARNING|INFO|ERROR|Traceback|chinese_calendar")
UNKNOWN_YEAR = "chinese_calendar 没有 2027 年的放假安排"


@pytest.fixture(scope="module")
def zhibu(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    env["ZHIBU_DATABASE_URL"] = f"sqlite:///{tmp / 'cli.db'}"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])  # this checkout's code

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp, env=env, capture_output=True,
                              text=True, timeout=120)
    assert run("demo").returncode == 0
    return run


def test_a_reply_that_looks_into_an_unknown_year_has_no_log_in_it(zhibu):
    late_december = zhibu("say", "--as", "demo-shuji", "--now", "2026-12-28 09:00", "待办提醒")
    assert late_december.returncode == 0, late_december.stderr
    assert late_december.stdout.startswith("第一党支部未来30天的提醒") or "没有需要提醒" in late_december.stdout
    assert not LOG_LINE.search(late_december.stdout), late_december.stdout
    assert UNKNOWN_YEAR in late_december.stderr  # the operator still learns of it, in the log

    january = zhibu("say", "--as", "demo-dangyuan", "--now", "2027-01-04 09:00", "本月安排")
    assert january.returncode == 0 and "2027年1月安排" in january.stdout
    assert "主题党日：1月20日（周三）" in january.stdout  # the fallback calendar: a Wednesday is a working day
    assert not LOG_LINE.search(january.stdout), january.stdout


def test_a_bad_time_is_one_chinese_line(zhibu):
    bad = zhibu("say", "--as", "demo-shuji", "--now", "明天", "帮助")
    assert bad.returncode == 1 and bad.stdout == "" and bad.stderr.strip() == "时间“明天”无效，请写成 2027-01-04 09:00"


def test_remind_plan_defaults_to_today_and_prints_no_log(zhibu):
    before = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    today = zhibu("remind", "plan", "--dry-run")
    after = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert today.returncode == 0, today.stderr
    assert today.stdout.split(" ", 1)[0] in {before.isoformat(), after.isoformat()}
    later = zhibu("remind", "plan", "--date", "2027-01-04", "--dry-run")
    assert later.returncode == 0 and later.stdout.startswith("2027-01-04 的提醒（试运行，未写入）")
    assert not LOG_LINE.search(later.stdout), later.stdout
