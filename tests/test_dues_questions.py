"""党费怎么算 and what counts in the base, asked in everyday words."""
import pytest

from bot.demo import seed_demo
from bot.runtime import build_runtime
from storage.db import transaction, upgrade
from tests.conftest import Clock, make_settings
from tests.dues_helpers import send


@pytest.fixture(scope="module")
def asked(tmp_path_factory, segmenter):
    """One demo runtime for the questions that change nothing (a demo per question would dominate the run)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('questions') / 'zhibu.db'}"
    upgrade(url)
    clock = Clock()
    rt = build_runtime(make_settings(url), clock=clock, segmenter=segmenter)
    with transaction(rt.sessions) as s:
        seed_demo(s, today=clock().astimezone(rt.settings.tz).date())
    yield rt
    rt.close()


@pytest.mark.parametrize(("question", "amount", "bracket", "article"), [
    ("党费怎么算 月收入6500", "97.50", "5000元以上至10000元（含10000元），按 1.5%", "第二条"),
    ("月工资3000交多少党费", "15.00", "3000元以下（含3000元），按 0.5%", "第二条"),
    ("月工资3000.01交多少党费", "30.00", "3000元以上至5000元（含5000元），按 1%", "第二条"),
    ("工资10000交多少党费", "150.00", "按 1.5%", "第二条"),
    ("工资10000.01交多少党费", "200.00", "10000元以上，按 2%", "第二条"),
    ("退休金4800交多少", "24.00", "5000元以下（含5000元），按 0.5%", "第五条"),
    ("退休金5000.01交多少党费", "50.00", "5000元以上，按 1%", "第五条"),
    ("养老金 6,000 元交多少党费", "60.00", "按 1%", "第五条"),
    ("年薪制 这个月发了2万 交多少党费", "400.00", "按 2%", "第三条"),
    ("月收入1.2万交多少党费", "240.00", "按 2%", "第二条"),
])
def test_amount_bracket_and_basis(asked, question, amount, bracket, article):
    text = send(asked, "demo-dangyuan", question).text
    assert f"每月交纳党费 {amount} 元" in text, text
    assert bracket in text
    assert f"中组发〔2008〕3号）{article}" in text
    assert "以支部每年年初核定的为准" in text


@pytest.mark.parametrize(("question", "amount"), [
    ("学生党员交多少党费", "0.20"), ("失业了党费交多少", "0.20"), ("低保户党员党费怎么算", "0.20"),
    ("农民党员交多少党费", "0.20")])
def test_fixed_categories(asked, question, amount):
    text = send(asked, "demo-dangyuan", question).text
    assert f"每月交纳党费 {amount} 元" in text and "第六条" in text


def test_farmer_amount_follows_the_branch_setting(dues_demo):
    send(dues_demo, "demo-shuji", "设置 farmer_dues 0.5")
    assert "每月交纳党费 0.50 元" in send(dues_demo, "demo-dangyuan", "农民党员交多少党费").text
    assert "本支部设为 0.50 元" in send(dues_demo, "demo-dangyuan", "党费怎么算").text
    # another branch keeps the default
    assert "每月交纳党费 0.20 元" in send(dues_demo, "demo-b2-02", "农民党员交多少党费").text


def test_rounding_follows_the_branch_setting(dues_demo):
    assert "30.51 元" in send(dues_demo, "demo-dangyuan", "月工资3050.5交多少党费").text
    send(dues_demo, "demo-shuji", "设置 dues_rounding down")
    assert "30.50 元" in send(dues_demo, "demo-dangyuan", "月工资3050.5交多少党费").text


def test_the_cap_is_noted(asked):
    text = send(asked, "demo-dangyuan", "月收入60000交多少党费").text
    assert "每月交纳党费 1000.00 元" in text and "1200.00" in text and "自愿多交" in text


@pytest.mark.parametrize(("question", "must"), [
    ("五险一金算不算党费基数", ("五险一金不计入", "单位缴纳", "第（二）项")),
    ("公积金要交党费吗", ("住房公积金", "不计入")),
    ("年终奖算党费吗", ("奖励性绩效工资不计入", "年终奖", "1000")),
    ("绩效工资算不算党费基数", ("基础性绩效工资计入",)),
    ("补贴要交党费吗", ("改革性补贴不计入", "交通", "通讯")),
    ("车补饭补算不算交党费的基数", ("改革性补贴不计入", "交通", "误餐")),
    ("交党费是按税前还是税后", ("税后",)),
    ("党费基数包括哪些", ("相对固定、经常性", "不计入")),
])
def test_what_counts_in_the_base(asked, question, must):
    reply = send(asked, "demo-dangyuan", question)
    for part in must:
        assert part in reply.text, (question, part)
    assert "依据" in reply.text
    assert "每月交纳党费" not in reply.text  # not answered as an amount


def test_retirement_pay_as_a_base_question(asked):
    text = send(asked, "demo-dangyuan", "退休金算不算党费基数").text
    assert "基本离退休费或基本养老金" in text and "不含各类津贴补贴" in text


def test_general_question_lists_the_brackets(asked):
    text = send(asked, "demo-dangyuan", "党费怎么算").text
    for part in ("3000元以下 0.5%", "10000元以上 2%", "离退休", "0.20 元", "1000 元", "预备党员"):
        assert part in text
    assert not send(asked, "demo-dangyuan", "党费怎么算").private  # no personal figure in it


def test_commands_are_not_taken_for_questions(dues_demo):
    assert "已核定" in send(dues_demo, "demo-shuji", "设置党费 张伟 62.50").text
    assert "参与率下限" in send(dues_demo, "demo-shuji", "设置 参与率下限 85%").text
    assert "每月应交" in send(dues_demo, "demo-dangyuan", "我的党费").text


@pytest.mark.parametrize("question", ["2026-11的党费怎么算", "2026年党费标准", "11月党费交多少"])
def test_dates_are_not_taken_for_income(asked, question):
    text = send(asked, "demo-dangyuan", question).text
    assert "3000元以下 0.5%" in text  # the general answer, not an amount computed on 2026 or 11


@pytest.mark.parametrize(("question", "title", "must"), [
    ("老李退休返聘了党费怎么算", "【退休返聘党员的党费】", "基本离退休费"),
    ("停薪留职期间党费怎么算", "【停薪留职党员的党费】", "上一季度月平均纯收入"),
    ("在读研究生还拿工资，党费怎么交", "【学生、农民、失业和低保党员的党费】", "有工资收入的在读学生"),
    ("夫妻都是党员党费能一起交吗", "【党费计算基数包括什么、扣除什么】", "各按本人收入交纳"),
    ("没有收入要交党费吗", "【学生、农民、失业和低保党员的党费】", "没有工作、没有收入"),
    ("预备党员要交党费吗", "【预备党员交党费】", "标准与正式党员相同"),
    ("家里困难党费怎么交", "【困难党员少交、免交党费】", "少交或免交"),
    # asked as a question about the base: the situation's entry still answers
    ("返聘人员的工资算不算党费基数", "【退休返聘党员的党费】", "全国没有统一规定"),
    ("退休以后被别的公司聘用了，党费基数包括聘用工资吗", "【退休返聘党员的党费】", "全国没有统一规定"),
    ("跑网约车收入不稳定，党费基数按什么", "【年薪制、个体户等党员的党费基数】", "上一季度月平均纯收入"),
])
def test_a_special_situation_gets_its_entry_not_the_rates(say, question, title, must):
    """The calculator's general overview would bury these; the entry written for the situation answers."""
    text = say("demo-dangyuan", question)
    assert text.startswith(title) and must in text, text
    assert "3000元以下 0.5%" not in text


@pytest.mark.parametrize(("question", "must"), [
    ("党费怎么算", "3000元以下 0.5%"),  # the ordinary question still gets the overview
    ("在职党员党费交多少", "3000元以下 0.5%"),
    ("在外地工作的党员党费比例是多少", "3000元以下 0.5%"),  # names 外地, but asks the rate
    ("学生党员交多少党费", "每月交纳党费 0.20 元"),  # a category the calculator knows keeps its amount
    ("退休返聘 退休金4800交多少党费", "每月交纳党费 24.00 元"),  # a figure is computed, situation or not
])
def test_ordinary_rate_questions_still_get_the_calculator(say, question, must):
    assert must in say("demo-dangyuan", question)


def test_a_sum_paid_is_not_taken_for_income(say):
    """想交一万元党费 names what is paid, not a monthly pay: no amount is computed on it."""
    text = say("demo-dangyuan", "老党员想交一万元党费怎么办")
    assert "每月交纳党费 150.00 元" not in text and "月收入 10000 元" not in text, text
    assert "自愿多交党费、大额党费" in text
