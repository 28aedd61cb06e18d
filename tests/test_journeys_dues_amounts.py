"""Issue 25 item 1: dues amounts from how people say them."""
from decimal import Decimal

import pytest

from handlers.amounts import Amount, Unclear, read_amounts


@pytest.mark.parametrize(("question", "base", "amount"), [
    ("月收入2万5交多少党费", "25000", "500.00"),
    ("我每月税后10000元，党费多少", "10000", "150.00"),
    ("月薪一万二", "12000", "240.00"),
    ("工资 8k", "8000", "120.00"),
    ("到手九千八，党费交多少", "9800", "147.00"),
    ("工资三千五百块，每个月交几块党费", "3500", "35.00"),
    ("月收入1.2万交多少党费", "12000", "240.00"),
    ("收入６，５００元交多少党费", "6500", "97.50"),
    ("税后 1w 党费多少", "10000", "150.00"),
    ("我一个月工资6千5，要交多少党费", "6500", "97.50"),
    ("工资两万交多少", "20000", "400.00"),
    ("每月到手１２０００", "12000", "240.00"),
    ("税前12000，税后9000，党费交多少", "9000", "135.00"),
    ("单位发的工资扣完五险一金到手7300，党费怎么算", "7300", "109.50"),
])
def test_a_figure_as_people_write_it_gets_the_amount(say, question, base, amount):
    text = say("demo-dangyuan", question)
    assert f"月收入 {base} 元（在职）：每月交纳党费 {amount} 元" in text, text


@pytest.mark.parametrize(("question", "base", "amount"), [
    ("退休金四千八交多少", "4800", "24.00"),
    ("我养老金5,200元，党费多少", "5200", "52.00"),
    ("退休工资六千，党费咋算", "6000", "60.00"),
])
def test_retirement_pay(say, question, base, amount):
    text = say("demo-dangyuan", question)
    assert f"基本离退休费 {base} 元（离退休）：每月交纳党费 {amount} 元" in text, text


@pytest.mark.parametrize(("question", "average", "amount"), [
    ("年薪20万", "16666.67", "333.33"),
    ("我一年收入30万，党费怎么算", "25000", "500.00"),
    ("年薪四十八万交多少党费", "40000", "800.00"),
])
def test_a_yearly_figure_is_explained_as_annual_pay(say, question, average, amount):
    text = say("demo-dangyuan", question)
    assert "当月实际领取" in text and "年薪制" in text, text
    assert f"约 {average} 元）：每月交纳党费 {amount} 元" in text, text
    assert "第三条" in text


def test_this_months_pay_under_annual_salary_is_still_that_month(say):
    text = say("demo-dangyuan", "年薪制 这个月发了2万 交多少党费")
    assert "当月薪酬 20000 元（年薪制）：每月交纳党费 400.00 元" in text


@pytest.mark.parametrize(("question", "why"), [
    ("月收入七八千交多少党费", "大概"),
    ("工资一万多交多少党费", "大概"),
    ("月收入5000到6000交多少党费", "范围"),
    ("工资5000-6000党费多少", "范围"),
    ("工资2万50交多少党费", "20050"),
    ("收入1,2000元交多少党费", "逗号"),
    ("工资几千块交多少党费", "确切"),
    ("我工资8000我爱人6000，党费交多少", "2 个金额"),
])
def test_a_figure_that_cannot_be_read_is_asked_back_never_computed(say, question, why):
    text = say("demo-dangyuan", question)
    assert why in text, text
    assert "每月交纳党费" not in text and "请写一个数再问" in text, text


def test_a_monthly_figure_that_looks_yearly_is_asked_about(say):
    text = say("demo-dangyuan", "工资30万交多少党费")
    assert "是年薪吗" in text and "每月交纳党费" not in text
    # said plainly as a month's pay, it is computed (and capped)
    assert "每月交纳党费 1000.00 元" in say("demo-dangyuan", "月收入300000交多少党费")


def test_pre_tax_figure_is_computed_with_a_warning(say):
    text = say("demo-dangyuan", "税前一万五交多少党费")
    assert "每月交纳党费 300.00 元" in text and "税前" in text and "实际金额会低一些" in text


@pytest.mark.parametrize("question", [
    "2026年党费标准", "11月党费交多少", "三会一课多久开一次", "党员20人以上要分党小组吗", "养老金5000以下交多少"])
def test_dates_counts_and_thresholds_are_not_income(say, question):
    assert "每月交纳党费" not in say("demo-dangyuan", question)


def test_together_is_not_one_yuan(say):
    """一块(儿) is "together": the couple's question is answered, not asked back for a readable figure."""
    text = say("demo-dangyuan", "俺家老两口都是党员，退休金放一块算党费不")
    assert "没能准确读出" not in text and "基本离退休费" in text, text


def test_a_bare_figure_without_a_word_for_pay_is_not_a_dues_question(say):
    text = say("demo-dangyuan", "工资8000的人能不能申请入党，有什么条件")
    assert "每月交纳党费" not in text


# the reader itself ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("written", "value"), [
    ("6500", "6500"), ("6,500", "6500"), ("６５００", "6500"), ("1.2万", "12000"), ("2万5", "25000"),
    ("2万5千", "25000"), ("1w2", "12000"), ("8k", "8000"), ("8K", "8000"), ("一万二", "12000"), ("九千八", "9800"),
    ("三千五百", "3500"), ("三百五", "350"), ("两万", "20000"), ("十万", "100000"), ("二十万", "200000"),
    ("一万零五百", "10500"), ("1万零500", "10500"), ("1万2千3", "12300"), ("１，２００．５", "1200.5")])
def test_reader_values(written, value):
    found = read_amounts(f"月收入{written}元")
    assert len(found) == 1 and isinstance(found[0], Amount), found
    assert found[0].value == Decimal(value)


@pytest.mark.parametrize("written", ["七八千", "一万多", "两三千", "2万50", "1,2000", "1.2万5", "6000来块", "8000出头"])
def test_reader_refuses_to_guess(written):
    found = read_amounts(f"月收入{written}")
    assert found and all(isinstance(f, Unclear) for f in found), found


@pytest.mark.parametrize("text", ["三会一课", "五险一金", "千万别忘了", "一般每季度一次", "2026-11", "2026年6月",
                                  "14:30", "15分钟", "第3条", "3个月", "百分之1.5", "1.5%", "8kg", "退休金放一块算",
                                  "我们一块去交"])
def test_reader_ignores_what_is_not_money(text):
    assert read_amounts(text) == []


@pytest.mark.parametrize("n", [1, 9, 10, 11, 99, 100, 101, 999, 1000, 1001, 2500, 9999, 10000, 12345, 99999, 123456])
def test_reader_reads_every_integer_in_full_width_and_with_separators(n):
    full = "".join(chr(ord(c) + 0xFEE0) for c in str(n))
    assert read_amounts(f"收入{full}元")[0].value == n
    assert read_amounts(f"收入{n:,}元")[0].value == n
