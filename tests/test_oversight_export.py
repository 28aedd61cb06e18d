"""导出概况 as conversations: the 上级管理员 gets every branch, a 书记 their own, a member is refused, a bad period is
answered in Chinese naming the forms; the workbook's sheets, rows and measures; and the file through WeCom."""
from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from bot.channels import console
from bot.demo import seed_demo_oversight
from reminders.overview_periods import parse_export_period, sub_periods
from storage.db import transaction
from tests.conftest import built

TODAY = date(2026, 11, 24)


@pytest.fixture
def ov(dues_demo):
    with transaction(dues_demo.sessions) as s:
        seed_demo_oversight(s, TODAY, dues_demo.settings.tz)
    return dues_demo


def ask(rt, user: str, text: str):
    return rt.router.handle(console.incoming(user, text))


def sheets(rt, reply) -> dict[str, list[tuple]]:
    wb = load_workbook(io.BytesIO(built(rt, reply).data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def column(rows: list[tuple], name: str) -> dict[str, object]:
    """Branch → the value in the column headed `name`."""
    i = rows[0].index(name)
    return {r[0]: r[i] for r in rows[1:]}


def test_the_upper_admin_exports_the_year_with_its_quarters_and_months(ov):
    reply = ask(ov, "demo-dangwei", "导出概况 今年")
    assert reply.text == ("正在生成示范机关党委2026年概况表（4 个党支部，3 张表），"
                          "稍后单独发给你：示范机关党委党支部概况2026年.xlsx")
    book = sheets(ov, reply)
    assert list(book) == ["2026年", "按季度", "按月"]
    year = book["2026年"]
    assert [r[0] for r in year[1:]] == ["第一党支部", "第三党支部", "第二党支部", "第四党支部"]  # worst first
    assert column(year, "状态") == {"第一党支部": "红", "第三党支部": "红", "第二党支部": "黄", "第四党支部": "绿"}
    assert column(year, "原因")["第三党支部"].startswith("红：任期已届满 40 天未换届")
    # January to November have begun: 11 主题党日 due; 第三党支部 held one, in October
    assert column(year, "主题党日应开（次）") == dict.fromkeys(column(year, "状态"), 11)
    assert column(year, "主题党日已开（次）")["第三党支部"] == 1
    assert column(year, "党员大会已开（次）")["第四党支部"] == 3  # Q4's is still to come
    assert column(year, "距最近组织活动（天）")["第三党支部"] == 40
    assert column(year, "任期届满日期")["第一党支部"].date() == date(2027, 6, 15)
    assert column(year, "连续欠交党费6个月以上（人）")["第一党支部"] == 1
    assert round(column(year, "参与率")["第二党支部"], 3) == 0.625
    assert column(year, "统计截至日期")["第四党支部"].date() == TODAY
    quarters = book["按季度"]
    assert [r[1] for r in quarters[1:5]] == ["2026年第1季度", "2026年第2季度", "2026年第3季度",
                                             "2026年第4季度（进行中）"]
    assert quarters[4][-1] == "尚未开：党员大会、党课"
    months = book["按月"]
    assert len(months) == 1 + 4 * 11
    assert ("第三党支部", "2026年11月（进行中）", 1, 0, 1, 0, "尚未开：主题党日、支委会") in months


def test_a_closed_quarter_is_read_on_its_last_day(ov):
    reply = ask(ov, "demo-dangwei", "导出概况 2026年第3季度")
    book = sheets(ov, reply)
    assert list(book) == ["2026年第3季度", "按月"]
    main = book["2026年第3季度"]
    assert column(main, "统计截至日期")["第一党支部"].date() == date(2026, 9, 30)
    assert column(main, "党课应开（次）") == dict.fromkeys(column(main, "党课应开（次）"), 1)
    assert column(main, "党课已开（次）")["第三党支部"] == 0
    # on 30 September 第三党支部's term (ending 15 October) was still running
    assert column(main, "任期逾期（天）")["第三党支部"] is None
    assert [r[1] for r in book["按月"][1:4]] == ["2026年7月", "2026年8月", "2026年9月"]


def test_a_secretary_exports_only_their_branch(ov):
    reply = ask(ov, "demo-shuji", "导出概况 上月")
    assert reply.text.endswith("稍后单独发给你：第一党支部概况2026年10月.xlsx")
    book = sheets(ov, reply)
    assert list(book) == ["2026年10月"]
    assert [r[0] for r in book["2026年10月"][1:]] == ["第一党支部"]


def test_a_member_is_refused_and_nothing_is_built(ov):
    reply = ask(ov, "demo-dangyuan", "导出概况 本月")
    assert reply.file is None
    assert reply.text.endswith("只有上级管理员或支部书记可以使用。发送「帮助」看看你可以做什么。")


@pytest.mark.parametrize("words", ["2026-13", "明年", "2026Q5", "第三季度", "26年"])
def test_a_bad_period_names_the_accepted_forms(ov, words):
    reply = ask(ov, "demo-dangwei", f"导出概况 {words}")
    assert reply.file is None
    assert "2026、2026-12、2026Q4、本月、上月、本季度、上季度、今年、去年" in reply.text


def test_a_period_not_yet_begun_is_refused(ov):
    reply = ask(ov, "demo-dangwei", "导出概况 2027")
    assert reply.file is None and reply.text == "2027年还没有开始，请写已经开始的期间，例如“导出概况 本月”。"


@pytest.mark.parametrize(("words", "key"), [
    ("", "2026-11"), ("本月", "2026-11"), ("上月", "2026-10"), ("本季度", "2026Q4"), ("上季度", "2026Q3"),
    ("今年", "2026"), ("去年", "2025"), ("2025", "2025"), ("2025年", "2025"), ("2026-3", "2026-03"),
    ("2026年3月", "2026-03"), ("2026/03", "2026-03"), ("2026Q1", "2026Q1"), ("2026q2", "2026Q2"),
    ("2026-Q3", "2026Q3"), ("2026年第4季度", "2026Q4"), ("2026年第四季度", "2026Q4"), ("2026 Q4", "2026Q4"),
])
def test_period_forms(words, key):
    period = parse_export_period(words, TODAY)
    assert period.key == key
    assert parse_export_period(period.key, TODAY) == period  # what a file link carries reads back the same


def test_sub_periods_stop_at_today():
    year = parse_export_period("2026", TODAY)
    quarters, months = sub_periods(year, TODAY)
    assert [q.key for q in quarters] == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert [m.key for m in months][-1] == "2026-11" and len(months) == 11
    assert sub_periods(parse_export_period("2026-10", TODAY), TODAY) == []


def test_the_file_arrives_through_wecom(wecom_demo, wecom_client, fake_wecom):
    from bot.app import create_app
    from tests.test_files_delivery import wait_for

    with transaction(wecom_demo.sessions) as s:
        seed_demo_oversight(s, TODAY, wecom_demo.settings.tz)
    http = create_app(runtime=wecom_demo).test_client()
    query, body = wecom_client.encrypt_envelope(wecom_client.text_xml("demo-dangwei", "导出概况 本季度"))
    response = http.post(f"/wecom/callback?{query}", data=body.encode(), content_type="text/xml")
    answer = wecom_client.open_reply(response.data).content
    response.close()
    assert answer.endswith("稍后单独发给你：示范机关党委党支部概况2026年第4季度.xlsx")
    [(name, data)] = wait_for(lambda: fake_wecom.files_for("demo-dangwei"))
    assert name == "示范机关党委党支部概况2026年第4季度.xlsx"
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["2026年第4季度", "按月"]
    assert wb["2026年第4季度"].max_row == 5  # a header and four branches
