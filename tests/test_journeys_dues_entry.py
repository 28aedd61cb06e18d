"""Issue 25 item 9: dues entry as secretaries write it. The clock is 2026-11-24; in the demo's dues 张伟 has paid to
October, 郑强 (demo-b1-04) is behind from August, 吴芳 (demo-b1-03) is the 党费管理员."""
from datetime import date

import pytest

from tests.dues_helpers import audits, payments, rate_fen
from tests.reminder_helpers import local


@pytest.mark.parametrize(("command", "months"), [
    ("登记党费 郑强 8月", ["2026-08"]),
    ("登记党费 郑强 八月", ["2026-08"]),
    ("登记党费 郑强 8月到10月", ["2026-08", "2026-09", "2026-10"]),
    ("登记党费 郑强 8-10月", ["2026-08", "2026-09", "2026-10"]),
    ("登记党费 郑强 2026年8-10月", ["2026-08", "2026-09", "2026-10"]),
    ("登记党费 郑强 2026年8月至10月", ["2026-08", "2026-09", "2026-10"]),
    ("登记党费 郑强 8月、9月", ["2026-08", "2026-09"]),
    ("登记党费 郑强 上个月", ["2026-10"]),
    ("登记党费 郑强 8月份到10月份 42", ["2026-08", "2026-09", "2026-10"]),
])
def test_months_as_written(dues_demo, say, command, months):
    before = payments(dues_demo, "demo-b1-04")
    text = say("demo-b1-03", command)
    assert f"已登记郑强 {months[0] if len(months) == 1 else ''}" in text, text
    assert sorted(set(payments(dues_demo, "demo-b1-04")) - set(before)) == months


def test_a_bare_month_means_the_nearest_one(dues_demo, say, clock):
    assert "已登记张伟 2026-12" in say("demo-shuji", "登记党费 张伟 12月")
    clock.set(local(date(2027, 1, 10), 10))
    text = say("demo-shuji", "登记党费 郑强 10月")  # in January: the October just past
    assert "已登记郑强 2026-10" in text, text


@pytest.mark.parametrize("command", ["登记党费 张伟、郑强 2026-11", "登记党费 张伟，郑强 11月", "登记党费 张伟 郑强 11月",
                                     "登记党费 张伟/郑强 本月"])
def test_several_names_at_once(dues_demo, say, command):
    text = say("demo-b1-03", command)
    assert "已为 2 名党员登记党费" in text and "已登记张伟 2026-11" in text and "已登记郑强 2026-11" in text, text
    assert "2026-11" in payments(dues_demo, "demo-dangyuan") and "2026-11" in payments(dues_demo, "demo-b1-04")
    assert len(audits(dues_demo, "dues.pay")) == 2


def test_several_names_all_or_nothing(dues_demo, say):
    say("demo-b1-03", "登记党费 张伟 11月")
    text = say("demo-b1-03", "登记党费 郑强、张伟 11月")
    assert "未登记张伟的党费" in text and "已登记过党费" in text, text
    assert "2026-11" not in payments(dues_demo, "demo-b1-04")  # 郑强's was not recorded either
    assert "没有名叫“李雷”" in say("demo-b1-03", "登记党费 郑强、李雷 11月")
    assert "2026-11" not in payments(dues_demo, "demo-b1-04")


def test_bad_months_are_refused_with_the_way_to_write_them(dues_demo, say):
    for command, why in (("登记党费 张伟 13月", "不是月份"), ("登记党费 张伟 2026年12月到2026年6月", "早于开始月份"),
                         ("登记党费 张伟", "请写成"), ("登记党费 张伟 下下个月", "不是月份")):
        text = say("demo-b1-03", command)
        assert why in text and "已登记" not in text, (command, text)


def test_setting_a_rate_above_1000_asks_to_confirm(dues_demo, say):
    old = rate_fen(dues_demo, "demo-dangyuan")
    ask = say("demo-shuji", "设置党费 张伟 1200")
    assert "超过 1000 元" in ask and "回复 1" in ask and "回复 2" in ask
    assert rate_fen(dues_demo, "demo-dangyuan") == old and audits(dues_demo, "dues.rate") == []
    done = say("demo-shuji", "1")
    assert "已核定张伟2026年每月党费 1200.00 元" in done and "自愿多交" in done
    assert rate_fen(dues_demo, "demo-dangyuan") == 120000
    # 2 cancels; any other message drops the question; a later 1 confirms nothing
    say("demo-shuji", "设置党费 张伟 1500")
    assert "已取消" in say("demo-shuji", "2")
    say("demo-shuji", "核定党费 张伟 一千五")
    say("demo-shuji", "帮助")
    assert "现在没有等你选择的问题" in say("demo-shuji", "1")
    assert rate_fen(dues_demo, "demo-dangyuan") == 120000


def test_a_computed_rate_is_capped_and_needs_no_confirmation(dues_demo, say):
    text = say("demo-shuji", "设置党费 张伟 在职 80000")
    assert "已核定张伟2026年每月党费 1000.00 元" in text and rate_fen(dues_demo, "demo-dangyuan") == 100000


def test_amounts_in_the_ledger_as_people_write_them(dues_demo, say):
    assert "已核定张伟2026年每月党费 97.50 元" in say("demo-shuji", "设置党费 张伟 在职 6千5")
    assert "已核定郑强2026年每月党费 60.00 元" in say("demo-shuji", "设置党费 郑强 六十")
