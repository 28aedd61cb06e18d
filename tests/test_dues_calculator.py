from decimal import Decimal

import pytest

from handlers.dues_calculator import (
    CAP_FEN,
    calculate,
    category_of,
    fen_to_yuan,
    parse_yuan,
    yuan_to_fen,
)


@pytest.mark.parametrize(("category", "base", "fen", "percent"), [
    # 在职: each bracket includes its upper bound, and the rate applies to the whole base
    ("在职", "0", 0, "0.5"),
    ("在职", "2999.99", 1500, "0.5"),
    ("在职", "3000", 1500, "0.5"),
    ("在职", "3000.01", 3000, "1"),
    ("在职", "3001", 3001, "1"),
    ("在职", "5000", 5000, "1"),
    ("在职", "5000.01", 7500, "1.5"),
    ("在职", "6500", 9750, "1.5"),
    ("在职", "10000", 15000, "1.5"),
    ("在职", "10000.01", 20000, "2"),
    ("在职", "50000", 100000, "2"),
    # 离退休: two brackets
    ("离退休", "4800", 2400, "0.5"),
    ("离退休", "5000", 2500, "0.5"),
    ("离退休", "5000.01", 5000, "1"),
    ("离退休", "5001", 5001, "1"),
    # 年薪制 and members without a fixed monthly income use the 在职 brackets
    ("年薪制", "20000", 40000, "2"),
    ("年薪制", "3000", 1500, "0.5"),
    ("无固定收入", "4000", 4000, "1"),
    ("无固定收入", "10000.01", 20000, "2"),
])
def test_brackets(category, base, fen, percent):
    r = calculate(category, base)
    assert r.monthly_fen == fen
    assert r.rate == Decimal(percent) / 100
    assert r.uncapped_fen is None


@pytest.mark.parametrize(("category", "article"), [
    ("在职", "第二条"), ("年薪制", "第三条"), ("无固定收入", "第四条"), ("离退休", "第五条"),
    ("学生", "第六条"), ("下岗失业", "第六条"), ("低保", "第六条"), ("农民", "第六条")])
def test_every_answer_names_its_article(category, article):
    r = calculate(category, "4000")
    assert article in r.basis and "中组发〔2008〕3号" in r.basis


@pytest.mark.parametrize("category", ["学生", "下岗失业", "低保", "失业", "下岗", "抚恤", "救济", "最低生活保障"])
def test_fixed_twenty_fen_whatever_the_base(category):
    for base in (None, "0", "8000"):
        r = calculate(category, base)
        assert r.monthly_fen == 20 and r.rate is None and r.base is None


@pytest.mark.parametrize(("setting", "fen"), [(0.2, 20), ("0.5", 50), (Decimal("1"), 100)])
def test_farmer_amount_is_the_branch_setting(setting, fen):
    assert calculate("农民", farmer_yuan=setting).monthly_fen == fen


@pytest.mark.parametrize("setting", ["0.1", "1.01", "2"])
def test_farmer_amount_outside_the_range_is_refused(setting):
    with pytest.raises(ValueError, match="0.2 元到 1 元"):
        calculate("农民", farmer_yuan=setting)


def test_rounding_half_up_by_default_and_down_when_set():
    # 3050.50 × 1% = 30.505
    assert calculate("在职", "3050.50").monthly_fen == 3051
    assert calculate("在职", "3050.50", rounding="down").monthly_fen == 3050
    # 1234.5 × 0.5% = 6.1725
    assert calculate("在职", "1234.5").monthly_fen == 617
    assert calculate("离退休", "4999.99").monthly_fen == 2500  # 24.99995 → 25.00
    assert calculate("离退休", "4999.99", rounding="down").monthly_fen == 2499


def test_cap_of_a_thousand_yuan_is_noted():
    r = calculate("在职", "60000")
    assert r.monthly_fen == CAP_FEN and r.uncapped_fen == 120000
    assert any("1000" in n and "1200.00" in n and "自愿" in n for n in r.notes)
    assert calculate("在职", "50000").uncapped_fen is None  # exactly ¥1000: no cap needed


def test_categories_by_everyday_words():
    assert category_of("退休金") == "离退休" == category_of("养老金")
    assert category_of("年薪") == "年薪制"
    assert category_of("月工资") == "在职"
    assert category_of("宇航员") is None
    assert calculate("退休", "5000").monthly_fen == 2500


def test_bad_input():
    with pytest.raises(ValueError, match="基数"):
        calculate("在职", None)
    with pytest.raises(ValueError, match="类别"):
        calculate("宇航员", "5000")
    with pytest.raises(ValueError):
        calculate("在职", "-1")
    for unreadable in ("六七千", "2万50", "1,2000", "一万多", "5000-6000", "abc"):
        with pytest.raises(ValueError):
            parse_yuan(unreadable)


@pytest.mark.parametrize(("text", "value"), [
    ("6500", "6500"), ("6,500元", "6500"), ("¥6500.5", "6500.5"), ("1.2万", "12000"), ("8千", "8000"),
    ("六千", "6000"), ("一万二", "12000"), ("２万５", "25000"), ("8k", "8000"), ("九千八", "9800")])
def test_parse_yuan(text, value):
    assert parse_yuan(text) == Decimal(value)


def test_fen_helpers():
    assert fen_to_yuan(6250) == "62.50" and fen_to_yuan(20) == "0.20"
    assert yuan_to_fen(Decimal("0.005")) == 1 and yuan_to_fen(Decimal("0.005"), "down") == 0
