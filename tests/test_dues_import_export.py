"""The payments sheet (all or nothing, every error naming sheet, row and column), the export, the CLI."""
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from bot.cli import main
from storage.db import transaction
from storage.dues_export import export_dues
from storage.dues_import import COLUMNS, SHEET, DuesImportError, import_dues, write_template
from storage.orgs import find_org
from tests.conftest import make_settings
from tests.dues_helpers import add_member, audits, payment_count, payments, rate_fen

TODAY = date(2026, 11, 24)


def xlsx(path, rows, columns=COLUMNS, title=SHEET):
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(columns))
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def run_import(rt, path, today=TODAY, org=None):
    with transaction(rt.sessions) as s:
        return import_dues(s, path, today, org=find_org(s, org) if org else None)


def test_valid_sheet_is_imported(dues_demo, tmp_path):
    path = xlsx(tmp_path / "pay.xlsx", [
        ["张伟", "", "", "2026-11", "", date(2026, 11, 20)],  # amount from the fixed rate
        ["郑强", "", "第一党支部", "2026-08至2026-10", 42, ""],
        ["王建国", "", "", datetime(2026, 11, 1), "42.00", ""],  # Excel turned 2026-11 into a date
        ["陈晨", "13900000003", "", "2026年11月", 12.5, "2026/11/21"],
    ])
    result = run_import(dues_demo, path)
    assert (result.rows, result.months) == (4, 6)
    zw = rate_fen(dues_demo, "demo-dangyuan")
    assert result.total_fen == zw + 3 * 4200 + 4200 + 1250
    assert payments(dues_demo, "demo-dangyuan")["2026-11"] == zw
    assert {m: a for m, a in payments(dues_demo, "demo-b1-04").items() if m >= "2026-08"} == dict.fromkeys(
        ("2026-08", "2026-09", "2026-10"), 4200)
    assert payments(dues_demo, "demo-yubei")["2026-11"] == 1250
    [row] = audits(dues_demo, "dues.import")
    assert row.target == "pay.xlsx" and row.detail["months"] == 6 and row.actor == "命令行"
    assert result.warnings == [] and "共" in result.summary()


def test_gbk_csv_is_read(dues_demo, tmp_path):
    path = tmp_path / "pay.csv"
    path.write_bytes("姓名,月份,金额（元）\n何军,2026-05至2026-06,\n".encode("gbk"))
    run_import(dues_demo, path)
    assert {"2026-05", "2026-06"} <= set(payments(dues_demo, "demo-b1-06"))


def test_utf8_bom_csv_is_read(dues_demo, tmp_path):
    path = tmp_path / "pay.csv"
    path.write_bytes("姓名,月份\n何军,2026-05\n".encode("utf-8-sig"))
    assert run_import(dues_demo, path).months == 1


def test_late_arrears_are_imported_and_flagged(dues_demo, tmp_path):
    path = xlsx(tmp_path / "late.xlsx", [["何军", "", "", "2026-05至2026-07", "", ""]])
    result = run_import(dues_demo, path, today=date(2027, 1, 15))
    assert result.months == 3
    assert len(result.warnings) == 1 and "第 2 行：何军 2026-05、2026-06 补交超过 6 个月" in result.warnings[0]


def test_one_bad_row_imports_nothing_and_every_error_is_named(dues_demo, tmp_path):
    before = payment_count(dues_demo)
    path = xlsx(tmp_path / "bad.xlsx", [
        ["张伟", "", "", "2026-11", "", ""],  # fine on its own
        ["李雷", "", "", "2026-11", "", ""],
        ["冯丽", "", "", "2026-13", "", ""],
        ["马超", "", "", "2026-11", "abc", ""],
        ["黄蕾", "", "", "2026-10", "", ""],  # already paid
        ["赵静", "", "", "2027-03", 10, ""],  # more than a quarter ahead
        ["张伟", "", "", "2026-11", "", ""],  # the same month twice in the file
        ["", "", "", "2026-11", "", ""],
        ["孙磊", "123", "", "2026-11", "", ""],
        ["吴芳", "", "", "2026-11", "", "2026-12-01"],  # paid in the future
        ["陈晨", "", "", "2026-02", "", ""],  # before acceptance
        ["郑强", "", "", "2027-01", "", ""],  # 2027 has no amount fixed
        ["何军", "", "", "", "", ""],
    ])
    with pytest.raises(DuesImportError) as err:
        run_import(dues_demo, path)
    errors = err.value.errors
    expected = [
        "「党费交纳」表第 3 行「姓名」列：名单中没有与“李雷”对应的党员",
        "「党费交纳」表第 4 行「月份」列：“2026-13”不是月份",
        "「党费交纳」表第 5 行「金额（元）」列：“abc”不是正的金额",
        "「党费交纳」表第 6 行「月份」列：黄蕾 2026-10 已登记过党费",
        "「党费交纳」表第 7 行「月份」列：赵静 2027-03 超出可预交范围",
        "「党费交纳」表第 8 行「月份」列：张伟 2026-11 与第 2 行重复",
        "「党费交纳」表第 9 行「姓名」列：不能为空",
        "「党费交纳」表第 10 行「手机号」列：“123”不是 11 位手机号",
        "「党费交纳」表第 11 行「交纳日期」列：2026-12-01 晚于今天",
        "「党费交纳」表第 12 行「月份」列：陈晨 2026-02 早于应交党费的起始月 2026-03",
        "「党费交纳」表第 13 行「金额（元）」列：郑强 2027 年尚未核定党费",
        "「党费交纳」表第 14 行「月份」列：不能为空",
    ]
    for e in expected:
        assert any(x.startswith(e) for x in errors), (e, errors)
    assert len(errors) == len(expected)
    assert payment_count(dues_demo) == before and audits(dues_demo, "dues.import") == []


def test_headers_are_checked(dues_demo, tmp_path):
    path = xlsx(tmp_path / "h.xlsx", [["张伟", "2026-11", 1]], columns=("名字", "月份", "钱"))
    with pytest.raises(DuesImportError) as err:
        run_import(dues_demo, path)
    assert "「党费交纳」表第 1 行「名字」列：无法识别的列名" in err.value.errors[0]
    assert any("「钱」列：无法识别的列名" in e for e in err.value.errors)
    assert any("「姓名」列：缺少这一列" in e for e in err.value.errors)


def test_unsupported_and_broken_files(dues_demo, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(DuesImportError, match="不支持的文件类型"):
        run_import(dues_demo, tmp_path / "a.txt")
    (tmp_path / "b.xlsx").write_bytes(b"not a zip")
    with pytest.raises(DuesImportError, match="不是有效的 Excel"):
        run_import(dues_demo, tmp_path / "b.xlsx")
    (tmp_path / "c.csv").write_bytes(b"\xff\xfe\x00\xd8")
    with pytest.raises(DuesImportError, match="编码"):
        run_import(dues_demo, tmp_path / "c.csv")


def test_a_shared_name_needs_the_mobile(dues_demo, tmp_path):
    add_member(dues_demo, "张伟", "zw-2", "第二党支部", date(2020, 7, 1), "13912345678")
    path = xlsx(tmp_path / "dup.xlsx", [["张伟", "", "", "2026-11", 30, ""]])
    with pytest.raises(DuesImportError, match="有 2 名党员叫“张伟”：请填写手机号区分"):
        run_import(dues_demo, path)
    xlsx(path, [["张伟", "13912345678", "", "2026-11", 30, ""]])
    run_import(dues_demo, path)
    assert payments(dues_demo, "zw-2") == {"2026-11": 3000}
    # limited to one branch, the name is unique again
    xlsx(path, [["张伟", "", "", "2026-11", "", ""]])
    run_import(dues_demo, path, org="第一党支部")
    assert "2026-11" in payments(dues_demo, "demo-dangyuan")


def test_template_imports_after_its_example_rows_are_replaced(dues_demo, tmp_path):
    path = tmp_path / "t.xlsx"
    write_template(path)
    wb = load_workbook(path)
    assert [c.value for c in wb[SHEET][1]] == list(COLUMNS) and "填写说明" in wb.sheetnames
    ws = wb[SHEET]
    ws.delete_rows(2, 2)
    ws.append(["冯丽", "", "", "2026-11", "", ""])
    wb.save(path)
    assert run_import(dues_demo, path).months == 1


def test_export_of_every_branch_checked_cell_by_cell(dues_demo):
    with transaction(dues_demo.sessions) as s:
        orgs = [find_org(s, "第二党支部"), find_org(s, "示范机关党委")]
        data = export_dues(s, orgs, 2026, TODAY)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["第二党支部", "示范机关党委"]
    ws = wb["第二党支部"]
    names = ["刘洋", "高峰", "林琳", "罗刚", "谢婷", "韩雪", "唐亮", "曹阳"]
    ids = ["demo-shuji2", *(f"demo-b2-{k:02d}" for k in range(1, 8))]
    totals = [0] * 12
    for i, (name, uid) in enumerate(zip(names, ids, strict=True)):
        r = 4 + i
        paid = payments(dues_demo, uid)
        row = [c.value for c in ws[r]]
        expected = [i + 1, name, "正式", rate_fen(dues_demo, uid) / 100,
                    *[(paid[f"2026-{k:02d}"] / 100 if f"2026-{k:02d}" in paid else None) for k in range(1, 13)],
                    sum(paid.values()) / 100, None]
        assert row == expected, name
        for k in range(12):
            totals[k] += paid.get(f"2026-{k + 1:02d}", 0)
    assert [c.value for c in ws[4 + len(names)]] == [None, "合计", None, None, *[t / 100 for t in totals],
                                                     sum(totals) / 100, None]
    assert sum(totals) > 0 and ws.max_row == 4 + len(names)
    top = wb["示范机关党委"]
    assert top["A1"].value == "示范机关党委2026年党费收缴登记簿" and top["B4"].value == "周敏"
    assert top["B5"].value == "合计"


def test_export_of_a_year_without_records(dues_demo):
    with transaction(dues_demo.sessions) as s:
        wb = load_workbook(io.BytesIO(export_dues(s, [find_org(s, "第一党支部")], 2025, TODAY)))
    ws = wb.active
    assert ws["D4"].value is None and ws["E4"].value is None and ws["Q4"].value == 0
    assert ws["R4"].value == "2025年未核定"


# the command line --------------------------------------------------------------------------------------------

@pytest.fixture
def cli_env(dues_demo, monkeypatch, tmp_path):
    s = make_settings(dues_demo.settings.database_url)
    monkeypatch.setenv("ZHIBU_DATABASE_URL", s.database_url)
    monkeypatch.setenv("ZHIBU_SECRET_KEY", "test-secret-key-0123456789")
    monkeypatch.chdir(tmp_path)  # no stray .env
    return dues_demo


def test_cli_export(cli_env, tmp_path, capsys):
    out = tmp_path / "dues.xlsx"
    assert main(["dues", "export", "2026", str(out)]) == 0
    assert "3 个党组织" in capsys.readouterr().out
    wb = load_workbook(out)
    assert wb.sheetnames == ["示范机关党委", "第一党支部", "第二党支部"]
    assert wb["第一党支部"]["B4"].value == "王建国"
    assert main(["dues", "export", "2026", str(out), "--org", "第二党支部"]) == 0
    assert load_workbook(out).sheetnames == ["第二党支部"]
    assert main(["dues", "export", "2026", str(out), "--org", "没有的支部"]) == 1
    assert "没有名为" in capsys.readouterr().err


def test_cli_import(cli_env, tmp_path, capsys):
    month = datetime.now(UTC).astimezone(cli_env.settings.tz).strftime("%Y-%m")  # the command uses the real date
    bad = xlsx(tmp_path / "bad.xlsx", [["陈晨", "", "", month, 12.5, ""], ["李雷", "", "", month, 1, ""]])
    before = payment_count(cli_env)
    assert main(["dues", "import", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "未导入任何数据，共 1 处需要修改" in out and "第 3 行「姓名」" in out
    assert payment_count(cli_env) == before
    good = xlsx(tmp_path / "good.xlsx", [["陈晨", "", "", month, 12.5, ""]])
    assert main(["dues", "import", str(good), "--org", "第一党支部"]) == 0
    assert "登记党费 1 个月，共 12.50 元" in capsys.readouterr().out
    assert payments(cli_env, "demo-yubei")[month] == 1250
    assert main(["dues", "import", str(tmp_path / "missing.xlsx")]) == 1
    assert main(["dues", "template", str(tmp_path / "t.xlsx")]) == 0 and (tmp_path / "t.xlsx").exists()


def test_a_member_removed_later_keeps_the_months_paid(dues_demo):
    from storage.models import Member
    from storage.roster import remove_member

    with transaction(dues_demo.sessions) as s:
        m = s.query(Member).filter_by(wecom_userid="demo-b1-05").one()  # 冯丽
        remove_member(s, m, "组织关系转出")
    paid = payments(dues_demo, "demo-b1-05")
    with transaction(dues_demo.sessions) as s:
        ws = load_workbook(io.BytesIO(export_dues(s, [find_org(s, "第一党支部")], 2026, TODAY))).active
        gone = load_workbook(io.BytesIO(export_dues(s, [find_org(s, "第一党支部")], 2025, TODAY))).active
    names = [ws.cell(row=r, column=2).value for r in range(4, ws.max_row + 1)]
    assert names[-2:] == ["冯丽", "合计"]
    row = ws.max_row - 1
    assert ws.cell(row=row, column=17).value == sum(paid.values()) / 100 > 0
    assert ws.cell(row=row, column=18).value.startswith("已移出")
    assert "冯丽" not in [gone.cell(row=r, column=2).value for r in range(4, gone.max_row + 1)]
