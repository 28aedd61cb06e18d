"""设置党费 / 登记党费 / 未交党费 / 导出党费, the ledger's rules, the pending choice, the arrears signal."""
import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook
from sqlalchemy import select

from handlers.dues_calculator import fen_to_yuan
from storage.db import transaction
from storage.dues import arrears_signals, check_payment, parse_month_range
from storage.models import DuesRate, Organization
from storage.org_settings import set_setting
from tests.conftest import built
from tests.dues_helpers import add_member, audits, payment_count, payments, rate_fen, send


def test_set_rate_is_audited_and_shown(dues_demo):
    old = rate_fen(dues_demo, "demo-dangyuan")
    reply = send(dues_demo, "demo-shuji", "设置党费 张伟 62.50")
    assert "62.50 元" in reply.text and f"原为 {fen_to_yuan(old)} 元" in reply.text and reply.private
    assert rate_fen(dues_demo, "demo-dangyuan") == 6250
    [row] = audits(dues_demo, "dues.rate")
    assert row.actor == "王建国" and row.target == "张伟"
    assert row.detail["old_fen"] == old and row.detail["new_fen"] == 6250 and row.detail["year"] == 2026


def test_set_rate_from_category_and_base_uses_the_calculator(dues_demo):
    reply = send(dues_demo, "demo-b1-03", "设置党费 张伟 在职 6500")  # the 党费管理员
    assert "97.50 元" in reply.text and "1.5%" in reply.text
    assert send(dues_demo, "demo-b1-03", "设置党费 郑强 退休 5000.01").text.count("50.00 元") == 1
    assert rate_fen(dues_demo, "demo-b1-04") == 5000
    send(dues_demo, "demo-shuji", "设置 党费取整方式 down")
    send(dues_demo, "demo-shuji", "设置党费 马超 在职 3050.50")
    assert rate_fen(dues_demo, "demo-b1-07") == 3050
    send(dues_demo, "demo-shuji", "设置 farmer_dues 0.5")
    send(dues_demo, "demo-shuji", "设置党费 黄蕾 农民")
    assert rate_fen(dues_demo, "demo-b1-08") == 50


def test_set_rate_for_next_year(dues_demo):
    send(dues_demo, "demo-shuji", "设置党费 张伟 70 2027年")
    assert rate_fen(dues_demo, "demo-dangyuan", 2027) != rate_fen(dues_demo, "demo-dangyuan", 2026)
    assert rate_fen(dues_demo, "demo-dangyuan", 2027) == 7000


def test_bad_rates_change_nothing(dues_demo):
    old = rate_fen(dues_demo, "demo-dangyuan")
    for text, expect in (("设置党费 张伟 62.505", "两位小数"), ("设置党费 张伟 六七十", "大概"), ("设置党费 张伟 abc", "不是金额"),
                         ("设置党费 张伟", "请写成"), ("设置党费 张伟 在职", "基数"),
                         ("设置党费 张伟 50 2030年", "只能核定"), ("设置党费 李雷 50", "没有名叫")):
        assert expect in send(dues_demo, "demo-shuji", text).text, text
    assert rate_fen(dues_demo, "demo-dangyuan") == old and audits(dues_demo, "dues.rate") == []


def test_zero_and_large_amounts_carry_a_note(dues_demo):
    assert "批准" in send(dues_demo, "demo-shuji", "设置党费 张伟 0").text
    assert "自愿" in send(dues_demo, "demo-shuji", "设置党费 张伟 1200").text


def test_record_one_month_and_a_range(dues_demo):
    fen = rate_fen(dues_demo, "demo-b1-04")
    reply = send(dues_demo, "demo-shuji", "登记党费 郑强 2026-08至2026-10")
    assert f"共 {fen_to_yuan(3 * fen)} 元" in reply.text
    got = payments(dues_demo, "demo-b1-04")
    assert {m: got[m] for m in ("2026-08", "2026-09", "2026-10")} == dict.fromkeys(("2026-08", "2026-09", "2026-10"), fen)
    send(dues_demo, "demo-shuji", "登记党费 郑强 2026年11月")
    assert "2026-11" in payments(dues_demo, "demo-b1-04")
    [row, _] = audits(dues_demo, "dues.pay")
    assert row.detail["months"] == ["2026-08", "2026-09", "2026-10"] and row.detail["late"] == []


def test_second_payment_for_a_month_is_refused_and_the_whole_range_with_it(dues_demo):
    assert "已登记" in send(dues_demo, "demo-shuji", "登记党费 张伟 2026-11").text
    before = payment_count(dues_demo)
    again = send(dues_demo, "demo-shuji", "登记党费 张伟 2026-11").text
    assert "2026-11 已登记过党费" in again and "不能重复登记" in again
    overlap = send(dues_demo, "demo-shuji", "登记党费 张伟 2026-10至2026-12").text
    assert "2026-10、2026-11 已登记过" in overlap
    assert payment_count(dues_demo) == before and "2026-12" not in payments(dues_demo, "demo-dangyuan")


def test_more_than_a_quarter_ahead_is_refused(dues_demo):
    text = send(dues_demo, "demo-shuji", "登记党费 张伟 2027-03").text
    assert "最多预交一个季度" in text and "2027-02" in text
    # up to three months beyond this one is fine (with the amount, since 2027 has none fixed yet)
    no_rate = send(dues_demo, "demo-shuji", "登记党费 张伟 2026-11至2027-02").text
    assert "还没有核定张伟2027年的党费" in no_rate
    ok = send(dues_demo, "demo-shuji", "登记党费 张伟 2026-11至2027-02 62.5").text
    assert "4 个月，共 250.00 元" in ok
    assert {m for m in payments(dues_demo, "demo-dangyuan") if m >= "2026-11"} == {
        "2026-11", "2026-12", "2027-01", "2027-02"}


def test_arrears_beyond_six_months_are_recorded_and_flagged(dues_demo, clock):
    clock.set(datetime(2027, 1, 15, 2, 0, tzinfo=UTC))  # six months back from 2027-01 is 2026-07
    text = send(dues_demo, "demo-shuji", "登记党费 何军 2026-05至2026-07").text
    assert "已登记何军" in text and "2026-05至2026-06 的补交已超过 6 个月" in text and "请支部研究" in text
    assert {"2026-05", "2026-06", "2026-07"} <= set(payments(dues_demo, "demo-b1-06"))
    [row] = audits(dues_demo, "dues.pay")
    assert row.detail["late"] == ["2026-05", "2026-06"]


def test_months_before_acceptance_and_bad_months_are_refused(dues_demo):
    before = payment_count(dues_demo)
    assert "早于应交党费的起始月 2026-03" in send(dues_demo, "demo-shuji", "登记党费 陈晨 2026-02").text
    assert "不是月份" in send(dues_demo, "demo-shuji", "登记党费 张伟 2026-13").text
    assert "早于开始月份" in send(dues_demo, "demo-shuji", "登记党费 张伟 2026-11至2026-09").text
    assert "最多登记 12 个月" in send(dues_demo, "demo-shuji", "登记党费 何军 2025-01至2026-02").text
    assert "请写成" in send(dues_demo, "demo-shuji", "登记党费 张伟").text
    assert payment_count(dues_demo) == before


def test_members_cannot_use_the_ledger(dues_demo):
    before = payment_count(dues_demo)
    for text in ("登记党费 张伟 2026-11", "设置党费 张伟 1", "未交党费"):
        assert "只有支部书记、组织委员、党费管理员" in send(dues_demo, "demo-dangyuan", text).text
    assert payment_count(dues_demo) == before


def test_a_shared_name_is_resolved_by_asking_which(dues_demo):
    other = add_member(dues_demo, "张伟", "zw-2", "第一党支部", date(2020, 7, 1), "13912345678")
    with transaction(dues_demo.sessions) as s:
        s.add(DuesRate(member_id=other, year=2026, monthly_fen=3000))
    ask = send(dues_demo, "demo-shuji", "登记党费 张伟 2026-11").text
    assert "2 位同名党员" in ask and "1. 张伟" in ask and "2. 张伟（第一党支部，手机尾号5678" in ask
    assert "2026-11" not in payments(dues_demo, "zw-2")
    done = send(dues_demo, "demo-shuji", "2").text
    assert "已登记张伟 2026-11 党费 1 个月，共 30.00 元" in done
    assert payments(dues_demo, "zw-2") == {"2026-11": 3000}
    assert "2026-11" not in payments(dues_demo, "demo-dangyuan")
    # an answer out of range cancels; anything else than a number is an ordinary message
    send(dues_demo, "demo-shuji", "设置党费 张伟 40")
    assert "1 到 2" in send(dues_demo, "demo-shuji", "7").text
    send(dues_demo, "demo-shuji", "查党费 张伟")
    assert "党费未交情况" in send(dues_demo, "demo-shuji", "未交党费").text
    assert "现在没有等你选择的问题" in send(dues_demo, "demo-shuji", "1").text  # the choice was dropped


def test_a_namesake_in_another_branch_is_not_a_choice(dues_demo):
    add_member(dues_demo, "张伟", "zw-b2", "第二党支部", date(2020, 7, 1), "13912340000")
    assert "已登记张伟" in send(dues_demo, "demo-shuji", "登记党费 张伟 2026-11").text
    assert payments(dues_demo, "zw-b2") == {}


def test_unpaid_list(dues_demo):
    text = send(dues_demo, "demo-shuji", "未交党费").text
    lines = text.splitlines()
    assert lines[0] == "第一党支部2026年党费未交情况（截至 2026-10）："
    zq = next(line for line in lines if line.startswith("· 郑强"))
    assert "2026-08至2026-10（3 个月" in zq and "请提醒本人" in zq
    hj = next(line for line in lines if line.startswith("· 何军"))
    assert "2026-05至2026-10（6 个月" in hj and "请支部研究处理" in hj
    assert not any(line.startswith("· 张伟") for line in lines)
    assert "本月（2026-11）尚未登记" in text and "系统不作结论" in text


def test_unpaid_list_follows_the_alert_setting(dues_demo):
    send(dues_demo, "demo-shuji", "登记党费 郑强 2026-08")
    assert "请提醒本人" not in next(line for line in send(dues_demo, "demo-shuji", "未交党费").text.splitlines()
                               if line.startswith("· 郑强"))
    send(dues_demo, "demo-shuji", "设置 dues_alert_months 2")
    zq = next(line for line in send(dues_demo, "demo-shuji", "未交党费").text.splitlines()
              if line.startswith("· 郑强"))
    assert "已连续 2 个月未交，请提醒本人" in zq


def test_arrears_signals(dues_demo):
    with transaction(dues_demo.sessions) as s:
        b1 = s.scalars(select(Organization).where(Organization.name == "第一党支部")).one()
        b2 = s.scalars(select(Organization).where(Organization.name == "第二党支部")).one()
        sig = arrears_signals(s, b1, "2026-10")
        assert [(x.name, x.count, x.level) for x in sig] == [("何军", 6, "escalate"), ("郑强", 3, "alert")]
        assert sig[0].months == tuple(parse_month_range("2026-05至2026-10"))
        assert sig[0].text().endswith("请支部研究处理。") and "脱党" not in sig[0].text()
        assert "请提醒" in sig[1].text()
        assert [x.name for x in arrears_signals(s, b1, "2026-10", alert_at=4)] == ["何军"]
        assert arrears_signals(s, b2, "2026-10") == []
        # a month later, unpaid runs grow by one for everyone who has not paid November
        assert {x.name: x.count for x in arrears_signals(s, b1, "2026-11")} == {"何军": 7, "郑强": 4}
        everyone = {x.name: x.count for x in arrears_signals(s, b1, "2026-11", alert_at=1)}
        assert everyone["张伟"] == 1 and len(everyone) == 12
        set_setting(s, b1, "dues_alert_months", "2")
        assert s.get(Organization, b1.id).settings["dues_alert_months"] == 2


def test_signals_ignore_months_before_the_ledger_began(dues_demo):
    # members joined decades ago, but dues are counted only from the first year fixed here
    with transaction(dues_demo.sessions) as s:
        b1 = s.scalars(select(Organization).where(Organization.name == "第一党支部")).one()
        assert max(x.count for x in arrears_signals(s, b1, "2026-10")) == 6


def test_check_payment_rules():
    ok = check_payment(["2026-11"], "2026-11", date(2020, 1, 1), set())
    assert ok.errors == [] and ok.late == []
    assert check_payment(["2027-02"], "2026-11", None, set()).errors == []
    assert "最多预交" in check_payment(["2027-03"], "2026-11", None, set()).errors[0]
    assert check_payment(["2026-05"], "2026-11", None, set()).late == []
    assert check_payment(["2026-04"], "2026-11", None, set()).late == ["2026-04"]
    assert "重复" in check_payment(["2026-10"], "2026-11", None, {"2026-10"}).errors[0]


def test_export_via_chat_is_checked_cell_by_cell(dues_demo):
    send(dues_demo, "demo-shuji", "登记党费 张伟 2026-11 150")
    reply = send(dues_demo, "demo-b1-03", "导出党费 2026")
    assert reply.private and reply.file is not None
    assert built(dues_demo, reply).filename == "第一党支部2026年党费收缴登记簿.xlsx"
    wb = load_workbook(io.BytesIO(built(dues_demo, reply).data))
    assert wb.sheetnames == ["第一党支部"]
    ws = wb["第一党支部"]
    assert ws["A1"].value == "第一党支部2026年党费收缴登记簿"
    assert ws["A2"].value.endswith("导出日期：2026-11-24")
    assert [c.value for c in ws[3]] == ["序号", "姓名", "党员类别", "月交纳额（元）", *(f"{m}月" for m in range(1, 13)),
                                       "合计（元）", "备注"]
    expected_names = ["王建国", "李红梅", "张伟", "陈晨", "赵静", "孙磊", "吴芳", "郑强", "冯丽", "何军", "马超", "黄蕾"]
    assert [ws.cell(row=r, column=2).value for r in range(4, 4 + len(expected_names))] == expected_names
    column_totals = [0] * 12
    for i, name in enumerate(expected_names):
        r = 4 + i
        userid = {"王建国": "demo-shuji", "李红梅": "demo-zuzhi", "张伟": "demo-dangyuan", "陈晨": "demo-yubei"}.get(
            name) or f"demo-b1-{['赵静', '孙磊', '吴芳', '郑强', '冯丽', '何军', '马超', '黄蕾'].index(name) + 1:02d}"
        paid = payments(dues_demo, userid)
        assert ws.cell(row=r, column=1).value == i + 1
        assert ws.cell(row=r, column=3).value == ("预备" if name == "陈晨" else "正式")
        assert ws.cell(row=r, column=4).value == rate_fen(dues_demo, userid) / 100
        for k in range(12):
            month, cell = f"2026-{k + 1:02d}", ws.cell(row=r, column=5 + k)
            if month in paid:
                assert cell.value == paid[month] / 100, (name, month)
                assert cell.number_format == "0.00"
                column_totals[k] += paid[month]
            elif name == "陈晨" and month < "2026-03":
                assert cell.value == "—"
            else:
                assert cell.value is None, (name, month)
        assert ws.cell(row=r, column=17).value == sum(paid.values()) / 100
        note = ws.cell(row=r, column=18).value
        assert note == {"陈晨": "2026-03起交", "郑强": "欠交3个月", "何军": "欠交6个月"}.get(name), name
    assert ws.cell(row=4 + 2, column=16).value is None and ws.cell(row=4 + 2, column=15).value == 150.0
    total = 4 + len(expected_names)
    assert ws.cell(row=total, column=2).value == "合计"
    assert [ws.cell(row=total, column=5 + k).value for k in range(12)] == [t / 100 for t in column_totals]
    assert ws.cell(row=total, column=17).value == sum(column_totals) / 100
    assert ws.cell(row=total + 1, column=2).value is None
    [row] = audits(dues_demo, "dues.export")
    assert row.detail == {"year": 2026}


def test_export_refuses_a_bad_year(dues_demo):
    assert "导出党费 2026" in send(dues_demo, "demo-shuji", "导出党费 明年").text
    assert send(dues_demo, "demo-shuji", "导出党费 2030").file is None
    empty = send(dues_demo, "demo-shuji", "导出党费 2020")
    assert empty.file is None and "没有登记簿可导出" in empty.text


def test_ledger_answers_in_a_group_go_private(dues_demo):
    for text in ("未交党费", "登记党费 张伟 2026-11", "导出党费 2026", "查党费 何军"):
        reply = send(dues_demo, "demo-shuji", text, chat_type="group")
        assert reply.private, text  # the channel sends it 1:1 and tells the group only where it went
