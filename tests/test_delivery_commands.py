"""zhibu remind send / remind letter, and the scheduler process (`zhibu scheduler`)."""
from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import docx
import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.commands.delivery import add_remind_commands
from reminders.outbox import Dispatcher
from reminders.planner import PlanResult
from reminders.scheduler import HEARTBEAT_NAME, SchedulerJobs, build_scheduler
from storage.db import transaction
from storage.models import Member, OutboxMessage, ServiceHeartbeat, utcnow
from tests.delivery_helpers import add_rows, rows_by_key

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli_env(demo, db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("ZHIBU_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ZHIBU_DATABASE_URL", db_url)
    monkeypatch.setenv("ZHIBU_SECRET_KEY", "test-secret-key-0123456789")
    return demo


def test_remind_send_prints_each_row_and_the_totals(cli_env, capsys):
    now = utcnow()
    add_rows(cli_env.sessions, [
        {"key": "s:demo-shuji", "to": "demo-shuji", "due": now - timedelta(minutes=1), "text": "请召开支委会"},
        {"key": "s:demo-dangyuan", "to": "demo-dangyuan", "due": now - timedelta(minutes=1), "text": "请交党费"},
        {"key": "s:later", "to": "demo-dangyuan", "due": now + timedelta(hours=1)},
        {"key": "s:nobody", "to": "demo-b1-04", "due": now - timedelta(minutes=1)},
    ])
    with transaction(cli_env.sessions) as session:
        m = session.scalars(select(Member).where(Member.wecom_userid == "demo-b1-04")).one()
        m.wecom_userid = m.dingtalk_userid = None
    assert main(["remind", "send"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "已发送 3 条，失败 1 条"  # two reminders and the note to the secretary; one unreachable
    assert "［推送给 demo-shuji］" in out and "请召开支委会" in out and "请交党费" in out
    assert any(line.startswith("已发送  王建国  s:demo-shuji（console）") for line in out)
    assert any(line.startswith("失败  郑强  s:nobody：没有企业微信或钉钉账号") for line in out)
    assert any("收不到机器人推送" in line for line in out)
    rows = rows_by_key(cli_env.sessions)
    assert rows["s:later"].status == "pending"

    assert main(["remind", "send"]) == 0
    assert capsys.readouterr().out.strip().splitlines() == ["已发送 0 条，失败 0 条"]


def test_remind_letter_writes_the_docx(cli_env, tmp_path, capsys):
    path = tmp_path / "换届提醒函.docx"
    assert main(["remind", "letter", "第一党支部", str(path)]) == 0
    assert "已生成换届提醒函" in capsys.readouterr().out
    text = [p.text for p in docx.Document(io.BytesIO(path.read_bytes())).paragraphs]
    assert text[0] == "关于第一党支部委员会任期届满按期换届的提醒函"

    assert main(["remind", "letter", "第九党支部", str(tmp_path / "x.docx")]) == 1
    assert "没有找到党组织“第九党支部”" in capsys.readouterr().err
    assert main(["remind", "letter", "第一党支部", str(tmp_path / "x.txt")]) == 1
    assert ".docx" in capsys.readouterr().err
    assert main(["remind", "letter", "示范机关党委", str(tmp_path / "y.docx")]) == 1
    assert "发给党支部" in capsys.readouterr().err
    assert not (tmp_path / "x.docx").exists() and not (tmp_path / "y.docx").exists()


def test_send_and_letter_attach_to_another_remind_group():
    parser = argparse.ArgumentParser()
    remind = parser.add_subparsers(dest="command").add_parser("remind").add_subparsers(dest="remind_command")
    remind.add_parser("plan")
    add_remind_commands(remind)
    assert parser.parse_args(["remind", "send"]).func.__name__ == "cmd_send"
    args = parser.parse_args(["remind", "letter", "第一党支部", "a.docx"])
    assert (args.org, args.file) == ("第一党支部", Path("a.docx"))


def test_scheduler_triggers_are_in_shanghai_time_and_coalesce(demo):
    tz = demo.settings.tz
    jobs = SchedulerJobs(demo.sessions, Dispatcher(demo.sessions, {}, utcnow), utcnow, tz, None)
    start = datetime(2026, 11, 24, 9, 30, tzinfo=tz)
    scheduler = build_scheduler(jobs, tz, start_now=start)
    by_id = {job.id: job for job in scheduler.get_jobs()}
    assert set(by_id) == {"plan", "dispatch", "heartbeat", "prune"}
    for job in by_id.values():
        assert str(job.trigger.timezone) == "Asia/Shanghai"
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time > 0
        if job.id != "prune":
            assert job.next_run_time == start  # everything but the nightly prune runs once at start-up
    nxt = by_id["plan"].trigger.get_next_fire_time(None, start)
    assert (nxt.date(), nxt.hour, nxt.minute) == (date(2026, 11, 25), 8, 0)
    nxt = by_id["prune"].trigger.get_next_fire_time(None, start)
    assert (nxt.date(), nxt.hour, nxt.minute) == (date(2026, 11, 25), 3, 30)
    nxt = by_id["dispatch"].trigger.get_next_fire_time(start, start)
    assert nxt - start == timedelta(minutes=1)


def test_scheduler_jobs_plan_in_beijing_date_dispatch_and_beat(demo, clock, pushed):
    clock.set(datetime(2026, 11, 23, 17, 0, tzinfo=UTC))  # 01:00 on the 24th in Beijing
    planned = []
    add_rows(demo.sessions, [{"key": "p:demo-shuji", "to": "demo-shuji", "due": clock(), "text": "请开会"}])

    def plan_day(sessions, day, tz):
        planned.append((day, tz))
        return PlanResult(day, [], 0, 0)

    jobs = SchedulerJobs(demo.sessions, Dispatcher(demo.sessions, demo.services.pushers, clock), clock,
                         demo.settings.tz, plan_day)
    jobs.plan()
    jobs.dispatch()
    jobs.heartbeat()
    assert planned == [(date(2026, 11, 24), demo.settings.tz)]
    assert pushed == ["［推送给 demo-shuji］\n请开会"]
    with demo.sessions() as session:
        beat = session.get(ServiceHeartbeat, HEARTBEAT_NAME)
        assert beat.beat_at == clock() and beat.pid == os.getpid()
    clock.set(clock() + timedelta(minutes=1))
    jobs.heartbeat()
    with demo.sessions() as session:
        assert session.get(ServiceHeartbeat, HEARTBEAT_NAME).beat_at == clock()


def test_the_plan_job_plans_the_day_into_the_outbox(demo, clock):
    from reminders.outbox import dispatcher_for
    from storage.models import OutboxMessage, PlannerState

    jobs = SchedulerJobs(demo.sessions, dispatcher_for(demo.sessions, demo.services), clock, demo.settings.tz)
    jobs.plan()
    with demo.sessions() as session:
        planned = session.query(OutboxMessage).count()
        assert planned > 0 and session.query(PlannerState).count() == 1
    jobs.plan()  # planning again the same day adds nothing
    with demo.sessions() as session:
        assert session.query(OutboxMessage).count() == planned


def _env(db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    return {**env, "ZHIBU_DATABASE_URL": db_url, "ZHIBU_SECRET_KEY": "test-service-secret-key-0123456789",
            "PYTHONPATH": str(ROOT)}


def test_zhibu_scheduler_process_beats_sends_and_stops_on_sigterm(demo, db_url, tmp_path):
    add_rows(demo.sessions, [{"key": "q:demo-shuji", "to": "demo-shuji", "due": utcnow() - timedelta(minutes=1),
                              "text": "请召开党员大会"}])
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "scheduler"], cwd=tmp_path, env=_env(db_url),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with demo.sessions() as session:
                beat = session.get(ServiceHeartbeat, HEARTBEAT_NAME)
                status = session.scalar(select(OutboxMessage.status).where(OutboxMessage.dedupe_key == "q:demo-shuji"))
            if beat is not None and status == "sent":
                break
            time.sleep(0.2)
        assert beat is not None and beat.pid == proc.pid and status == "sent"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "提醒调度已启动（Asia/Shanghai）" in out and "请召开党员大会" in out and "提醒调度已停止" in out


def test_web_app_never_starts_the_scheduler(db_url):
    code = ("import sys; from bot.app import create_app; app = create_app(); "
            "print('apscheduler' in sys.modules, any('APScheduler' in t.name for t in __import__('threading').enumerate()))")
    out = subprocess.run([sys.executable, "-c", code], env=_env(db_url), cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False False"


@pytest.mark.postgres
def test_two_scheduler_processes_on_postgresql_push_each_row_once(pg_cluster, segmenter, tmp_path):
    from bot.demo import seed_demo
    from bot.runtime import build_runtime
    from storage.db import upgrade
    from tests.conftest import make_settings

    url = pg_cluster.create_db("two_schedulers")
    upgrade(url)
    rt = build_runtime(make_settings(url), segmenter=segmenter)
    with transaction(rt.sessions) as session:
        seed_demo(session)
        uids = [m.wecom_userid for m in session.scalars(select(Member).order_by(Member.id))]
    due = utcnow() - timedelta(minutes=1)
    texts = {f"第{i}号提醒（{uid}）" for i in range(10) for uid in uids}
    add_rows(rt.sessions, [{"key": f"two:{text}", "to": text[text.index("（") + 1:-1], "due": due, "text": text}
                           for text in texts])
    procs = [subprocess.Popen([sys.executable, "-m", "bot.cli", "scheduler"], cwd=tmp_path, env=_env(url),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with rt.sessions() as session:
                left = session.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.dedupe_key.like("two:%"), OutboxMessage.status != "sent"))
            if left == 0:
                break
            time.sleep(0.3)
    finally:
        outs = []
        for p in procs:
            p.send_signal(signal.SIGTERM)
            outs.append(p.communicate(timeout=30)[0])
    rt.close()
    assert left == 0
    printed = [line for out in outs for line in out.splitlines() if line in texts]
    assert sorted(printed) == sorted(texts)  # every row once, across both processes
