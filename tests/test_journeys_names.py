"""Issue 25 item 6: names are names — stored normalised on import, compared normalised on every lookup, and a
migration normalises the rows already there."""
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from storage.db import make_engine, transaction, upgrade
from storage.models import Member
from storage.names import normalize_name
from storage.roster import MEMBER_COLUMNS, MEMBER_SHEET, find_for_removal, import_roster
from storage.sheets import styled_sheet
from tests.signin_helpers import code_of, later

NEW_PEOPLE = [["钱\u3000进", "13955550001", "qj", "qj", "第一党支部", "正式", date(2012, 7, 1), date(2013, 7, 1), ""],
              ["曹 操", "13955550002", "cc", "cc", "第一党支部", "正式", date(2014, 7, 1), date(2015, 7, 1), ""],
              [" 阿依古丽 ・ 买买提 ", "13955550003", "ay", "ay", "第一党支部", "正式", date(2016, 7, 1),
               date(2017, 7, 1), ""]]


def import_people(runtime, rows) -> None:
    wb = Workbook()
    styled_sheet(wb, MEMBER_SHEET, MEMBER_COLUMNS, rows, first=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.xlsx"
        wb.save(path)
        with transaction(runtime.sessions) as s:
            import_roster(s, path, actor="测试")


def stored_names(runtime) -> set[str]:
    with transaction(runtime.sessions) as s:
        return set(s.scalars(sa.select(Member.name)))


def test_names_are_stored_normalised_and_found_however_typed(demo, say, clock):
    import_people(demo, NEW_PEOPLE)
    assert {"钱进", "曹操", "阿依古丽·买买提"} <= stored_names(demo)
    assert not any(" " in n or "\u3000" in n for n in stored_names(demo))
    code_of(say("demo-shuji", "发起签到 主题党日"))
    later(clock, 150)
    assert "已为钱进登记补签" in say("demo-shuji", "补签 钱进")
    assert "已为曹操登记补签" in say("demo-shuji", "补签 曹操")
    assert "已为阿依古丽·买买提登记补签" in say("demo-shuji", "补签 阿依古丽·买买提")
    roster = say("demo-shuji", "党员名单")
    assert "· 钱进" in roster and "· 曹操" in roster
    assert "已核定钱进2026年每月党费 50.00 元" in say("demo-shuji", "设置党费 钱　进 50")
    assert "已核定曹操2026年每月党费 40.00 元" in say("demo-shuji", "设置党费 曹 操 40")
    assert "已登记钱进 2026-11" in say("demo-shuji", "登记党费 钱 进 11月")
    assert "查党费" not in say("demo-shuji", "查党费 曹操")  # found: the status, not the usage line
    assert "曹操同志2026年党费情况" in say("demo-shuji", "查党费 曹操")


def test_reimporting_a_name_typed_differently_updates_the_same_person(demo):
    import_people(demo, NEW_PEOPLE)
    again = [["钱进", *NEW_PEOPLE[0][1:]]]
    import_people(demo, again)
    with transaction(demo.sessions) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Member).where(Member.name == "钱进")) == 1
        assert [m.name for m in find_for_removal(s, "钱　进")] == ["钱进"]


@pytest.mark.parametrize(("typed", "stored"), [
    ("钱\u3000进", "钱进"), ("曹 操", "曹操"), ("  王建国 ", "王建国"), ("王\u200b建国", "王建国"), ("ｚｈａｎｇ", "zhang"),
    ("阿依古丽.买买提", "阿依古丽·买买提"), ("John  Smith", "John Smith"), ("王建国", "王建国")])
def test_normalize_name(typed, stored):
    assert normalize_name(typed) == stored
    assert normalize_name(stored) == stored  # idempotent


def test_the_migration_normalises_existing_rows(any_db_url):
    upgrade(any_db_url, "0003")
    engine = make_engine(any_db_url)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    orgs = sa.table("organizations", sa.column("id"), sa.column("name"), sa.column("type"),
                    sa.column("settings", sa.JSON), sa.column("created_at", sa.DateTime(timezone=True)))
    members = sa.table("members", sa.column("id"), sa.column("name"), sa.column("organization_id"),
                       sa.column("category"), sa.column("status"), sa.column("wecom_userid"),
                       sa.column("created_at", sa.DateTime(timezone=True)),
                       sa.column("updated_at", sa.DateTime(timezone=True)))
    try:
        with engine.begin() as conn:
            conn.execute(orgs.insert().values(id=1, name="一支部", type="党支部", settings={}, created_at=at))
            conn.execute(members.insert(), [
                {"id": 1, "name": "钱\u3000进", "organization_id": 1, "category": "正式", "status": "active",
                 "wecom_userid": "a", "created_at": at, "updated_at": at},
                {"id": 2, "name": "曹 操", "organization_id": 1, "category": "正式", "status": "active",
                 "wecom_userid": "b", "created_at": at, "updated_at": at},
                {"id": 3, "name": "王建国", "organization_id": 1, "category": "正式", "status": "active",
                 "wecom_userid": "c", "created_at": at, "updated_at": at}])
        upgrade(any_db_url)
        with engine.connect() as conn:
            names = dict(conn.execute(sa.select(members.c.id, members.c.name)).all())
        assert names == {1: "钱进", 2: "曹操", 3: "王建国"}
    finally:
        engine.dispose()
