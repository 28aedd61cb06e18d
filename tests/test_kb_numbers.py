"""The numbers in the answers (frequencies, days, percentages, years, amounts) agree with the domain reference.

Three checks: each entry states the figures the reference gives for its rules; wherever a rule's phrase appears in
any answer its figure is the reference's; and no answer carries a number the reference does not contain.
"""
from __future__ import annotations

import re

import pytest

from handlers.knowledge.entries import load_entries

# entry id → figures (as written) that the domain reference gives for its rules
REQUIRED = {
    "sanhui-overview": ["每季度至少1次", "每月1次"],
    "party-congress": ["每季度至少召开1次", "超过应到会有表决权党员的半数", "五分之四"],
    "committee-meeting": ["每月召开1次", "超过半数的委员"],
    "group-meeting": ["每月召开1次"],
    "party-lecture": ["每季度至少安排1次", "每年至少为基层党员讲1次"],
    "theme-day-schedule": ["每月1次", "每月20日"],
    "theme-day-participation": ["不低于80%", "85%"],
    "org-life-meeting": ["每年至少1次", "第四季度", "1–3月"],
    "democratic-review": ["每年1次"],
    "review-grades": ["三分之一"],
    "heart-talk": ["每年一般不少于1次"],
    "branch-setup": ["正式党员3人以上", "不超过50人", "1个月内批复"],
    "committee-size": ["正式党员7人以上", "3至5人", "一般不超过7人"],
    "party-group": ["党员20人以上", "不少于3人", "至少1名正式党员"],
    "joint-branch": ["不足3人", "不超过5个"],
    "temp-branch": ["6个月以上"],
    "general-branch": ["超过50人", "100人以上"],
    "term-length": ["每届任期5年", "每届任期3年"],
    "term-reminder": ["提前6个月", "一般不超过1年"],
    "election-voting": ["五分之四", "20%", "选3名须有4名", "选5名须有6名", "一半"],
    "dues-rates": ["3000元以下（含3000元）：0.5%", "3000元以上至5000元（含）：1%", "5000元以上至10000元（含）：1.5%",
                   "10000元以上：2%", "基数3000元交15元", "3001元交30.01元", "不超过1000元"],
    "dues-retired": ["5000元以下（含5000元）交0.5%", "5000元以上交1%", "5000元每月交25元", "5001元每月交50.01元"],
    "dues-arrears": ["不得超过6个月", "连续6个月"],
    "dues-low-fixed": ["每月0.2元至1元", "每月0.2元"],
    "dues-large": ["不超过1000元", "1000元以上"],
    "dues-use": ["每年向党员公布一次"],
    "dev-application": ["年满18岁", "1个月内"],
    "dev-activist": ["每半年", "1至2名"],
    "dev-object": ["1年以上", "不少于5个工作日"],
    "dev-introducer": ["2名正式党员"],
    "dev-training": ["不少于3天", "24学时"],
    "dev-acceptance-meeting": ["3个月内将离开", "预审通过后1个月内", "半数"],
    "dev-approval": ["3个月内审批", "不超过6个月"],
    "dev-oath": ["1个月内"],
    "probation-conversion": ["预备期为1年", "3个月内审批"],
    "probation-extension": ["只能延长1次", "不少于半年", "不超过1年"],
    "transfer-when": ["6个月以上"],
    "transfer-how": ["不超过3个月"],
    "floating-member": ["1至6个月", "6个月以上"],
    "membership-suspend": ["6个月以上", "超过5年", "满2年"],
    "self-withdrawal": ["连续6个月"],
    "political-birthday": ["50年"],
    "standardization-score": ["95分以上", "80%以上"],
    "dev-2026-changes": ["不少于5个工作日", "1个月内召开", "1个月内组织入党宣誓", "3天或24学时", "预备期1年"],
}

# a rule's phrase → the only figure it may carry, wherever it appears
RULES = [
    (r"公示[^。\n]{0,30}?不少于(\d+)个工作日", "5"),
    (r"(\d+)个工作日", "5"),
    (r"年满(\d+)岁", "18"),
    (r"收到入党申请书后，?(\d+)个月内", "1"),
    (r"预备期为?(\d+)年", "1"),
    (r"补交党费的时间一般不得超过(\d+)个月", "6"),
    (r"连续(\d+)个月", "6"),
    (r"不少于(\d+)天", "3"),
    (r"(\d+)学时", "24"),
    (r"提前(\d+)个月", "6"),
    (r"届满前(\d+)个月", "6"),
    (r"每月交纳党费?一般不超过(\d+)元", "1000"),
    (r"(\d+)名正式党员作入党介绍人", "2"),
    (r"参与率一般不低于(\d+)%", "80"),
    (r"(\d+)分以上为达标", "95"),
    (r"审批[^。\n]{0,6}?(\d+)个月内|(\d+)个月内审批", "3"),
    (r"宣誓[^。\n]{0,6}?(\d+)个月内|(\d+)个月内组织入党宣誓", "1"),
    (r"正式党员(\d+)人以上的党支部，设立支委会", "7"),
    (r"正式党员(\d+)人以上的单位", "3"),
    (r"党员人数一般不超过(\d+)人", "50"),
    (r"外出(?:学习、工作、生活)?(\d+)个月以上", "6"),
]

# every number that occurs in the domain reference's rules, plus the dates and examples the answers use
ALLOWED = {
    "0.2", "0.5", "1", "1.5", "2", "3", "4", "5", "6", "7", "8", "10", "11", "15", "18", "20", "24", "25", "30",
    "50", "80", "85", "95", "100", "1000", "3000", "3001", "5000", "5001", "10000", "30.01", "50.01",
    "2014", "2018", "2022", "2026",
    # examples of the bot's own commands: a month key and a dues base
    "2026-11", "6500",
}


@pytest.fixture(scope="module")
def entries():
    return {e.id: e for e in load_entries()}


def test_every_listed_figure_is_stated(entries):
    missing = [(eid, fig) for eid, figs in REQUIRED.items() for fig in figs if fig not in entries[eid].answer]
    assert missing == []


def test_a_rule_phrase_carries_the_reference_figure_wherever_it_appears(entries):
    wrong = []
    seen = set()
    for e in entries.values():
        for pattern, figure in RULES:
            for m in re.finditer(pattern, e.answer):
                seen.add(pattern)
                value = next(g for g in m.groups() if g is not None)
                if value != figure:
                    wrong.append((e.id, m.group(0), figure))
    assert wrong == []
    assert seen == {p for p, _ in RULES}  # every rule phrase is actually used somewhere


def test_no_answer_carries_a_number_the_reference_lacks(entries):
    stray = []
    for e in entries.values():
        text = re.sub(r"第[一二三四五六七八九十]+条", "", e.answer)
        for number in re.findall(r"\d{4}-\d{2}|\d+(?:\.\d+)?", text):
            if number not in ALLOWED:
                stray.append((e.id, number))
    assert stray == []


def test_the_checks_catch_a_wrong_figure(entries):
    """The rule table really bites: a 7-day 公示 or a 2-year probation would be caught."""
    bad = {"公示不少于7个工作日": r"(\d+)个工作日", "预备期为2年": r"预备期为?(\d+)年"}
    for text, pattern in bad.items():
        figure = dict(RULES)[pattern]
        assert re.search(pattern, text).group(1) != figure
