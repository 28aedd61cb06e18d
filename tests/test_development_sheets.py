"""The 发展党员工作台账: template, export, and the all-or-nothing import that checks every date by the rules;
`zhibu develop template|import|export`."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.cli import main as zhibu
from reminders.workdays import Calendar
from storage.db import transaction
from storage.development_sheets import (
    COLUMNS,
    SHEET,
    DevelopmentSheetError,
    export_to,
    import_development,
    write_template,
)
from storage.models import AuditLog, DevelopmentMilestone, DevelopmentRecord, Member, Organization
from storage.sheets import styled_sheet

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def workbook(path, *rows: dict) -> None:
    wb = Workbook()
    styled_sheet(wb, SHEET, COLUMNS, [[r.get(c) for c in COLUMNS] for r in rows], first=True)
    wb.save(path)


def run_import(rt, path):
    with transaction(rt.sessions) as s:
        return import_development(s, path, today=TODAY, cal=Calendar(), at=NOW)


def counts(rt) -> tuple[int, int]:
    with transaction(rt.sessions) as s:
        return (s.scalar(select(func.count()).select_from(DevelopmentRecord)),
                s.scalar(select(func.count()).select_from(DevelopmentMilestone)))


GOOD = {"姓名": "周一", "所在党支部": "第一党支部", "出生日期": date(1995, 5, 5), "企业微信账号": "zhouyi",
        "递交入党申请书日期": date(2025, 1, 6), "派人谈话日期": date(2025, 2, 20),  # late: due 02-06
        "确定入党积极分子日期": date(2025, 4, 1), "积极分子备案日期": date(2025, 4, 8),
        "培养联系人": "李红梅、张伟", "指定培养联系人日期": date(2025, 4, 1), "半年考察日期": "2025-09-25、2026-03-20"}


def test_a_good_file_imports_with_its_warnings_and_reimports_as_unchanged(demo, tmp_path):
    path = tmp_path / "dev.xlsx"
    workbook(path, GOOD)
    result = run_import(demo, path)
    assert result.summary() == "导入完成：新建发展记录 1 人、更新 0 人、无变化 0 人；新登记环节 7 个。"
    assert any("第 2 行「派人谈话日期」列：谈话逾期" in w for w in result.warnings)
    with transaction(demo.sessions) as s:
        row = s.scalars(select(DevelopmentRecord).where(DevelopmentRecord.name == "周一")).one()
        assert row.wecom_userid == "zhouyi" and len(row.milestones) == 7
        assert {m.recorded_by for m in row.milestones} == {"命令行"}
        assert s.scalars(select(AuditLog.action).where(AuditLog.action == "development.import")).all()
    again = run_import(demo, path)
    assert again.created == 0 and again.unchanged == 1 and again.milestones == 0


def test_export_then_import_round_trips_the_demo(demo, tmp_path):
    path = tmp_path / "export.xlsx"
    with transaction(demo.sessions) as s:
        branch = s.scalars(select(Organization).where(Organization.name == "第一党支部")).one()
        assert export_to(s, path, [branch], TODAY) == 4
    ws = load_workbook(path)[SHEET]
    assert [c.value for c in ws[1]] == list(COLUMNS)
    before = counts(demo)
    result = run_import(demo, path)
    assert (result.created, result.updated, result.unchanged, result.milestones) == (0, 0, 4, 0)
    assert counts(demo) == before


def test_one_bad_row_imports_nothing_and_every_error_names_sheet_row_and_column(demo, tmp_path):
    bad_object = {**GOOD, "姓名": "吴二", "企业微信账号": "wuer", "确定发展对象日期": date(2026, 2, 1)}  # 10 months
    bad_cells = {"姓名": "郑三", "所在党支部": "第三党支部", "递交入党申请书日期": "明天", "手机号": "12345"}
    no_day = {"姓名": "王四", "所在党支部": "第一党支部", "递交入党申请书日期": date(2026, 1, 5), "政审结论": "合格"}
    path = tmp_path / "bad.xlsx"
    workbook(path, GOOD, bad_object, bad_cells, no_day, {**GOOD, "企业微信账号": "other"})
    before = counts(demo)
    with pytest.raises(DevelopmentSheetError) as err:
        run_import(demo, path)
    errors = err.value.errors
    assert any(e.startswith("「发展党员工作台账」表第 3 行「确定发展对象日期」列：吴二2025-04-01确定为入党积极分子") and "不满1年" in e
               and "第十三条" in e for e in errors), errors
    assert "「发展党员工作台账」表第 4 行「所在党支部」列：系统中没有党支部“第三党支部”，请写名单中的全称" in errors
    assert "「发展党员工作台账」表第 4 行「递交入党申请书日期」列：“明天”不是日期，请写成 2026-04-10" in errors
    assert "「发展党员工作台账」表第 4 行「手机号」列：“12345”不是 11 位手机号" in errors
    assert "「发展党员工作台账」表第 5 行「政审结论」列：填写了“政审结论”，但没有填写“政审日期”" in errors
    assert "「发展党员工作台账」表第 6 行「姓名」列：与第 2 行是同一个人：每人只写一行" in errors
    assert counts(demo) == before  # the good first row was not imported either


def test_a_date_that_differs_from_the_recorded_one_is_refused(demo, tmp_path):
    path = tmp_path / "changed.xlsx"
    workbook(path, {"姓名": "杨帆", "所在党支部": "第一党支部", "递交入党申请书日期": date(2026, 11, 2)})
    with pytest.raises(DevelopmentSheetError) as err:
        run_import(demo, path)
    assert err.value.errors == ["「发展党员工作台账」表第 2 行「递交入党申请书日期」列：与系统中已登记的日期（2026-11-01）不同；"
                                "要更正请先在聊天中发送“撤销发展登记 杨帆 申请”"]


def test_a_file_adds_the_next_steps_of_a_person_already_recorded(demo, tmp_path):
    path = tmp_path / "next.xlsx"
    workbook(path, {"姓名": "杨帆", "所在党支部": "第一党支部", "企业微信账号": "demo-shenqing",
                    "递交入党申请书日期": date(2026, 11, 1), "派人谈话日期": date(2026, 11, 20)})
    result = run_import(demo, path)
    assert (result.updated, result.milestones) == (1, 1)


def test_accounts_of_someone_else_and_unknown_columns_are_refused(demo, tmp_path):
    path = tmp_path / "accounts.xlsx"
    workbook(path, {"姓名": "冒名", "所在党支部": "第一党支部", "企业微信账号": "demo-dangyuan",
                    "递交入党申请书日期": date(2026, 1, 5)})
    with pytest.raises(DevelopmentSheetError) as err:
        run_import(demo, path)
    assert "「发展党员工作台账」表第 2 行「企业微信账号」列：企业微信账号demo-dangyuan属于党员名单中的张伟，请核对。" in err.value.errors
    wb = Workbook()
    wb.active.title = SHEET
    wb.active.append(["姓名", "所在党支部", "入党日子"])
    wb.active.append(["某", "第一党支部", "2026-01-01"])
    wb.save(path)
    with pytest.raises(DevelopmentSheetError) as err:
        run_import(demo, path)
    assert err.value.errors[0].startswith("「发展党员工作台账」表第 1 行「入党日子」列：无法识别的列名")
    wb = Workbook()
    wb.save(path)
    with pytest.raises(DevelopmentSheetError, match="没有「发展党员工作台账」工作表"):
        run_import(demo, path)


def test_an_import_up_to_approval_adds_the_probationer_to_the_roster(demo, tmp_path):
    path = tmp_path / "approved.xlsx"
    row = {**GOOD, "派人谈话日期": date(2025, 1, 20), "半年考察日期": "2025-09-25", "确定发展对象日期": date(2026, 4, 2),
           "上级党委同意（备案）日期": date(2026, 4, 8), "入党介绍人": "李红梅、张伟", "确定入党介绍人日期": date(2026, 4, 10),
           "政审日期": date(2026, 4, 20), "政审结论": "合格", "培训开始日期": date(2026, 4, 21), "培训学时": 24,
           "支委会审查日期": date(2026, 5, 1), "上级党委预审日期": date(2026, 5, 8), "填写入党志愿书日期": date(2026, 5, 9),
           "支部大会日期": date(2026, 6, 20), "支部大会应到人数": 11, "支部大会实到人数": 10, "支部大会赞成人数": 10,
           "上级党委谈话日期": date(2026, 7, 1), "上级党委审批日期": date(2026, 7, 20)}
    workbook(path, row)
    result = run_import(demo, path)
    assert result.created == 1 and not any("预审后" in w for w in result.warnings)  # 预审 under 2014: no window
    with transaction(demo.sessions) as s:
        m = s.scalars(select(Member).where(Member.wecom_userid == "zhouyi")).one()
        assert (m.name, m.category, m.joined_on) == ("周一", "预备", date(2026, 6, 20))


def test_the_cli_template_import_and_export(demo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZHIBU_DATABASE_URL", demo.settings.database_url)
    monkeypatch.setenv("ZHIBU_SECRET_KEY", "test-secret-key-0123456789")
    template = tmp_path / "template.xlsx"
    assert zhibu(["develop", "template", str(template)]) == 0
    wb = load_workbook(template)
    assert wb.sheetnames == [SHEET, "填写说明"] and [c.value for c in wb[SHEET][1]] == list(COLUMNS)
    write_template(template)
    # the template's example row names a branch that is not in the demo: refused, row and column named
    assert zhibu(["develop", "import", str(template)]) == 1
    out = capsys.readouterr().out
    assert "未导入任何数据" in out and "第 2 行「所在党支部」" in out
    good = tmp_path / "good.xlsx"
    workbook(good, GOOD)
    assert zhibu(["develop", "import", str(good)]) == 0
    out = capsys.readouterr().out
    assert "新建发展记录 1 人" in out and "提醒：「发展党员工作台账」表第 2 行「派人谈话日期」" in out
    exported = tmp_path / "all.xlsx"
    assert zhibu(["develop", "export", str(exported)]) == 0
    assert "已导出 5 人" in capsys.readouterr().out
    assert zhibu(["develop", "export", str(exported), "--branch", "第二党支部"]) == 0
    assert "已导出 0 人" in capsys.readouterr().out
    assert zhibu(["develop", "export", str(exported), "--branch", "示范机关党委"]) == 1
