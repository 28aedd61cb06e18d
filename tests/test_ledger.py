"""导出台账: the month's .xlsx, opened back with openpyxl and checked cell by cell."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from bot.channels import console
from storage.attendance_ledger import LedgerMeeting, build_ledger, sheet_names
from tests.conftest import built
from tests.signin_helpers import beijing, code_of

BRANCH_1 = ["王建国", "李红梅", "张伟", "陈晨", "赵静", "孙磊", "吴芳", "郑强", "冯丽", "何军", "马超", "黄蕾"]
SUMMARY_HEADER = ["序号", "姓名", "党员类别", "11-05 主题党日+党课", "11-10 主题党日", "11-24 支委会",
                  "应参加", "出席", "迟到", "请假", "缺席", "参与率"]


@pytest.fixture
def november(demo, say, clock):
    """Three meetings in November 2026 for 第一党支部 (one hosted by 第二党支部), one in October, one not yet open."""
    clock.set(beijing(2026, 10, 20, 9))
    say("demo-dangyuan", "签到 " + code_of(say("demo-shuji", "发起签到 主题党日")))
    say("demo-shuji", "结束签到")

    clock.set(beijing(2026, 11, 5, 14, 30))
    c1 = code_of(say("demo-shuji", "发起签到 主题党日+党课 学习全会精神 三楼会议室"))  # 王建国 present as its opener
    clock.set(beijing(2026, 11, 5, 14, 50))
    say("demo-dangyuan", f"签到 {c1}")
    say("demo-shuji", "请假 陈晨 出差")
    say("demo-shuji", "结束签到")

    clock.set(beijing(2026, 11, 10, 9))
    c2 = code_of(say("demo-shuji2", "发起签到 主题党日 邀请第一党支部"))
    say("demo-shuji2", f"签到 {c2}")
    say("demo-dangyuan", f"签到 {c2}")
    say("demo-shuji2", "结束签到")

    clock.set(beijing(2026, 11, 24, 10))
    c3 = code_of(say("demo-zuzhi", "发起签到 支委会"))  # for the 委员: 王建国, 李红梅, 赵静, 孙磊
    for uid in ["demo-shuji", "demo-b1-01"]:
        say(uid, f"签到 {c3}")
    say("demo-zuzhi", "请假 孙磊 病假")
    say("demo-zuzhi", "结束签到")
    say("demo-shuji", "安排 党课 2026-11-28 9:00")  # in November, but its sign-in has not opened yet
    clock.set(beijing(2026, 11, 24, 12, 30))
    return demo


def is_red(cell) -> bool:
    color = cell.font.color
    return color is not None and color.type == "rgb" and color.rgb.endswith("C00000")


def export(runtime, user: str, text: str):
    return runtime.router.handle(console.incoming(user, text))


def test_ledger_sheets_cell_by_cell(november):
    reply = export(november, "demo-shuji", "导出台账 2026-11")
    assert reply.file is not None and reply.private
    assert reply.file.filename == "第一党支部出勤台账2026-11.xlsx"
    assert "3次会议" in reply.text and "稍后单独发给你" in reply.text
    file = built(november, reply)
    assert file.filename == reply.file.filename
    assert file.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = load_workbook(io.BytesIO(file.data))
    assert wb.sheetnames == ["党员出勤汇总", "11-05 主题党日+党课", "11-10 主题党日", "11-24 支委会"]

    ws = wb["11-05 主题党日+党课"]
    assert ws["A1"].value == "第一党支部主题党日+党课签到记录"
    absent = [n for n in BRANCH_1 if n not in ("王建国", "张伟", "陈晨")]
    reasons = "；".join(f"{n}（缺席）" if n != "陈晨" else "陈晨（请假：出差）"
                       for n in BRANCH_1 if n in absent or n == "陈晨")
    header = [(ws.cell(r, 1).value, ws.cell(r, 2).value) for r in range(2, 15)]
    assert header == [("会议类型", "主题党日、党课"), ("会议主题", "学习全会精神"), ("会议时间", datetime(2026, 11, 5, 14, 30)),
                      ("会议地点", "三楼会议室"), ("主持人", "王建国"), ("记录人", None), ("参会范围", "第一党支部"),
                      ("应到人数", 12), ("实到人数", 2), ("请假人数", 1), ("缺席人数", 9),
                      ("参与率", pytest.approx(2 / 11)), ("缺席人员及原因", reasons)]
    assert ws["B13"].number_format == "0.0%" and ws["C13"].value == "低于参与率下限80%" and is_red(ws["B13"])
    assert ws["A15"].value is None
    assert [c.value for c in ws[16]] == ["序号", "姓名", "所在党组织", "党员类别", "签到时间", "出勤情况", "签到方式", "备注"]
    table = [[c.value for c in row] for row in ws.iter_rows(min_row=17)]
    assert len(table) == 12 and [r[1] for r in table] == BRANCH_1
    assert table[0] == [1, "王建国", "第一党支部", "正式", datetime(2026, 11, 5, 14, 30), "出席", "发起签到", None]
    assert table[2] == [3, "张伟", "第一党支部", "正式", datetime(2026, 11, 5, 14, 50), "迟到", "签到码", None]
    assert table[3] == [4, "陈晨", "第一党支部", "预备", None, "请假", "书记登记", "出差"]
    assert table[1] == [2, "李红梅", "第一党支部", "正式", None, "缺席", None, None]

    joint = wb["11-10 主题党日"]
    assert joint["B8"].value == "第二党支部、第一党支部" and joint["B9"].value == 20 and joint["B10"].value == 2
    assert joint["B6"].value == "刘洋"

    sc = wb["11-24 支委会"]
    assert sc["B8"].value == "第一党支部（支部委员）" and sc["B9"].value == 4
    assert sc["B10"].value == 3 and sc["B13"].value == pytest.approx(3 / 3) and sc["C13"].value is None

    summary = wb["党员出勤汇总"]
    assert summary["A1"].value == "第一党支部2026年11月党员出勤汇总"
    assert [c.value for c in summary[2]] == SUMMARY_HEADER
    body = {row[1]: row for row in ([c.value for c in r] for r in summary.iter_rows(min_row=3, max_row=14))}
    assert list(body) == BRANCH_1
    assert body["张伟"] == [3, "张伟", "正式", "迟到", "出席", "—", 2, 1, 1, 0, 0, 1]  # not due at the 支委会
    assert body["王建国"][3:11] == ["出席", "缺席", "出席", 3, 2, 0, 0, 1]
    assert body["王建国"][11] == pytest.approx(2 / 3)
    assert body["陈晨"] == [4, "陈晨", "预备", "请假", "缺席", "—", 2, 0, 0, 1, 1, 0]
    assert body["孙磊"] == [6, "孙磊", "正式", "缺席", "缺席", "请假", 3, 0, 0, 1, 2, 0]
    assert body["黄蕾"] == [12, "黄蕾", "正式", "缺席", "缺席", "—", 2, 0, 0, 0, 2, 0]
    rates = [c.value for c in summary[15]]
    assert rates[1] == "各次参与率"
    assert rates[3:6] == [pytest.approx(2 / 11), pytest.approx(2 / 20), pytest.approx(3 / 3)]
    assert is_red(summary.cell(15, 4)) and is_red(summary.cell(15, 5)) and not is_red(summary.cell(15, 6))
    assert summary["B16"].value == "说明"


def test_ledger_refuses_bad_months_and_members(november):
    assert "不是月份" in export(november, "demo-shuji", "导出台账 2026-13").text
    assert "没有会议签到记录" in export(november, "demo-shuji", "导出台账 2026-09").text
    assert "还没到" in export(november, "demo-shuji", "导出台账 2027-01").text
    assert "只有" in export(november, "demo-dangyuan", "导出台账 2026-11").text
    october = export(november, "demo-shuji", "导出台账 2026年10月")
    assert october.file.filename == "第一党支部出勤台账2026-10.xlsx"
    assert load_workbook(io.BytesIO(built(november, october).data)).sheetnames == ["党员出勤汇总", "10-20 主题党日"]
    this_month = export(november, "demo-shuji2", "导出台账")
    assert built(november, this_month).filename == "第二党支部出勤台账2026-11.xlsx"


def test_sheet_names_are_unique_and_legal():
    def m(day: int, kinds: str) -> LedgerMeeting:
        return LedgerMeeting(kinds=kinds, title="", starts_at=datetime(2026, 11, day, 9), place=None, host="",
                             scope="", threshold=0.8, rows=[])
    names = sheet_names([m(5, "主题党日"), m(5, "主题党日"), m(6, "主题党日+党课+支委会+党员大会+党小组会+组织生活会")])
    assert names[:2] == ["11-05 主题党日", "11-05 主题党日(2)"]
    assert len(names[2]) <= 31
    data = build_ledger("某支部", "2026-11", [m(5, "主题党日")], [])
    assert load_workbook(io.BytesIO(data))["11-05 主题党日"]["B9"].value == 0  # nobody expected: 应到 0


def test_zhibu_ledger_export_writes_the_same_workbook(demo, say, clock, db_url, tmp_path, monkeypatch, capsys):
    from bot.cli import main

    clock.set(beijing(2026, 10, 20, 9))
    code = code_of(say("demo-shuji", "发起签到 主题党日 三楼会议室"))
    say("demo-dangyuan", f"签到 {code}")
    say("demo-shuji", "结束签到")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZHIBU_DATABASE_URL", db_url)
    monkeypatch.setenv("ZHIBU_SECRET_KEY", "test-secret-key-0123456789")
    assert main(["ledger", "export", "第一党支部", "2026-10"]) == 0
    assert "1次会议，12名党员" in capsys.readouterr().out
    wb = load_workbook(tmp_path / "第一党支部出勤台账2026-10.xlsx")
    assert wb.sheetnames == ["党员出勤汇总", "10-20 主题党日"]
    assert wb["10-20 主题党日"]["B5"].value == "三楼会议室" and wb["10-20 主题党日"]["B10"].value == 2  # and its opener
    assert main(["ledger", "export", "第九党支部", "2026-10"]) == 1
    assert "没有名为“第九党支部”的党组织" in capsys.readouterr().err
    assert main(["ledger", "export", "第一党支部", "2026-9"]) == 1
    assert "没有会议签到记录" in capsys.readouterr().err
