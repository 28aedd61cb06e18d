"""`zhibu remind plan` and `zhibu calendar set` end to end, and planning on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from bot.cli import main as zhibu
from bot.demo import seed_demo
from reminders.planner import insert_absent, plan
from reminders.rules import Due
from storage.db import make_engine, make_session_factory, transaction, upgrade
from storage.models import AuditLog, CalendarOverride, OutboxMessage, PlannerState
from tests.reminder_helpers import local


@pytest.fixture
def cli(demo, monkeypatch, capsys):
    monkeypatch.setenv("ZHIBU_DATABASE_URL", demo.settings.database_url)
    monkeypatch.setenv("ZHIBU_SECRET_KEY", "test-secret-key-0123456789")

    def run(*argv: str) -> tuple[int, str, str]:
        code = zhibu(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err
    return run


def outbox_count(demo) -> int:
    with transaction(demo.sessions) as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage))


def test_plan_json_lists_items_with_recipients_and_beijing_times(cli, demo):
    code, out, _ = cli("remind", "plan", "--date", "2026-12-01", "--json", "--dry-run")
    assert code == 0 and outbox_count(demo) == 0  # a dry run writes nothing
    items = json.loads(out)
    assert {tuple(sorted(i)) for i in items} == {("dedupe_key", "due_at", "kind", "organization", "recipients",
                                                  "relevant_until", "text")}
    late = next(i for i in items if i["kind"] == "term_expiry")
    assert late["organization"] == "第二党支部" and late["dedupe_key"] == "term_expiry:第二党支部:2026-12-20:T-1m"
    assert late["recipients"] == [{"name": "周敏", "userid": "demo-dangwei"}, {"name": "刘洋", "userid": "demo-shuji2"}]
    assert late["due_at"] == "2026-11-20T08:00:00+08:00" and late["relevant_until"] == "2026-12-20T00:00:00+08:00"
    assert all(i["text"] and re.search(r"\+08:00$", i["due_at"]) for i in items)


def test_plan_text_ends_with_new_and_existing_counts(cli, demo):
    code, out, _ = cli("remind", "plan", "--date", "2026-12-15")
    first = out.strip().splitlines()[-1]
    n = outbox_count(demo)
    assert code == 0 and first == f"新增 {n} 条，已存在 0 条" and n > 20
    code, out, _ = cli("remind", "plan", "--date", "2026-12-15")
    assert out.strip().splitlines()[-1] == f"新增 0 条，已存在 {n} 条"
    code, out, _ = cli("remind", "plan", "--date", "2026-12-15", "--dry-run")
    assert out.strip().splitlines()[-1] == f"新增 0 条，已存在 {n} 条" and "试运行" in out
    with transaction(demo.sessions) as s:
        runs = s.execute(select(PlannerState.planned_for, PlannerState.new_count, PlannerState.existing_count)
                         .order_by(PlannerState.id)).all()
    assert runs == [(date(2026, 12, 15), n, 0), (date(2026, 12, 15), 0, n)]


def test_bad_date_is_one_line(cli):
    code, out, err = cli("remind", "plan", "--date", "2026-13-01")
    assert code == 1 and err.strip() == "日期“2026-13-01”无效，请写成 2027-01-15"


def test_calendar_set_stores_days_audited_and_bad_input_changes_nothing(cli, demo):
    code, out, _ = cli("calendar", "set", "2027-10-01..2027-10-07", "off")
    assert code == 0 and "共 7 天" in out
    code, _, err = cli("calendar", "set", "2027-10-09..2027-10-01", "work")
    assert code == 1 and "未修改" in err
    assert cli("calendar", "set", "2027-10-07", "work")[0] == 0  # corrected: the 7th is worked after all
    with transaction(demo.sessions) as s:
        days = dict(s.execute(select(CalendarOverride.day, CalendarOverride.kind)).all())
        assert len(days) == 7 and days[date(2027, 10, 7)] == "work" and days[date(2027, 10, 1)] == "off"
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "calendar.set")) == 2


def test_planning_on_sqlite_and_postgresql(any_db_url):
    upgrade(any_db_url)
    engine = make_engine(any_db_url)
    sessions = make_session_factory(engine)
    try:
        with transaction(sessions) as s:
            seed_demo(s)
        with transaction(sessions) as s:
            first = plan(s, date(2026, 12, 15), now=local(date(2026, 12, 15)))
        with transaction(sessions) as s:
            again = plan(s, date(2026, 12, 15), now=local(date(2026, 12, 15)))
            rows = {r.dedupe_key: r for r in s.scalars(select(OutboxMessage))}
        digests = {k for k in rows if k.startswith("oversight_digest:")}  # the 党委's November digest, caught up
        want = {d.row_key(p) for d in first.dues for p in d.recipients} | digests
        assert len(digests) == 1 and first.new == len(want) == len(rows) and first.existing == 0
        assert (again.new, again.existing) == (0, len(want)) and set(rows) == want
        t6 = rows["term_expiry:第一党支部:2027-06-15:T-6m:demo-shuji"]
        assert t6.due_at == local(date(2026, 12, 15)) and t6.content["letter"] is True
        assert t6.status == "pending" and t6.relevant_until == local(date(2027, 3, 15), 0)
        # the bulk paths (COPY text on PostgreSQL) keep tabs, newlines and backslashes intact
        tricky = "第一行\n第二行\t制表\\反斜杠 \\N"
        someone = next(p for d in first.dues for p in d.recipients)
        due = Due("test:tricky", "theme_day", "第一党支部", (someone,), local(date(2026, 12, 15)),
                  local(date(2026, 12, 16), 0), tricky)
        with transaction(sessions) as s:
            assert insert_absent(s, [due], {"第一党支部": None}, local(date(2026, 12, 15))) == (1, 0)
        with transaction(sessions) as s:
            row = s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("test:tricky:%"))).one()
            assert row.content["text"] == tricky and row.due_at == local(date(2026, 12, 15))
    finally:
        engine.dispose()
