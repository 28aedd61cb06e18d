"""Issue 25 item 2: questions about oneself are answered from one's own record; questions about the rule still get
the rule. The clock is 2026-11-24 (a Tuesday); the demo's 张伟 joined on 2015-11-12 and became a full member on
2016-11-12, 陈晨 (demo-yubei) became a 预备党员 on 2026-03-01."""
from datetime import date

import pytest

from storage.db import transaction
from tests.reminder_helpers import add_meeting


@pytest.mark.parametrize("question", ["我这个月党费交了吗", "这个月的党费我交了没", "本月党费我交了没有",
                                      "我11月的党费交了吗？"])
def test_this_months_dues(dues_demo, say, question):
    text = say("demo-dangyuan", question)
    assert "你11月的党费还没有交，应交" in text, text
    assert "每月应交" in text  # and the year's status below it
    say("demo-b1-03", "登记党费 张伟 2026-11")  # the 党费管理员 records it
    assert "你11月的党费已交" in say("demo-dangyuan", question)


@pytest.mark.parametrize("question", ["党费交到几月了", "我的党费交到哪个月了", "我党费交到几月份了？"])
def test_paid_up_to(dues_demo, say, question):
    assert "你的党费交到了 2026年10月" in say("demo-dangyuan", question)


@pytest.mark.parametrize("question", ["我欠党费吗", "我还欠几个月党费", "我是不是欠着党费", "本人党费有没有没交的"])
def test_arrears_of_ones_own(dues_demo, say, question):
    assert "你欠交 3 个月党费（2026-08至2026-10）" in say("demo-b1-04", question)  # 郑强, three months behind
    assert "你目前没有欠交的党费" in say("demo-dangyuan", question)


@pytest.mark.parametrize("question", ["党费交到哪里", "党费该交给谁", "谁还没交党费"])
def test_where_and_whom_are_not_ones_own_record(dues_demo, say, question):
    text = say("demo-dangyuan", question)
    assert "你的党费交到了" not in text and "你2026年的党费情况" not in text, text


@pytest.mark.parametrize(("question", "rule"), [
    ("欠交党费会怎样", "补交党费的时间一般不得超过6个月"),
    ("党龄怎么算", "党龄从预备期满转为正式党员之日算起"),
    ("政治生日是哪一天", "一般指入党的日子"),
    ("预备期满了要自己写转正申请吗", "本人主动提出书面转正申请"),
    ("主题党日每个月哪天搞", "每月相对固定1天"),
])
def test_a_question_about_the_rule_still_gets_the_rule(dues_demo, say, question, rule):
    text = say("demo-dangyuan", question)
    assert rule in text, text
    assert "张伟同志" not in text and "你的" not in text


@pytest.mark.parametrize("question", ["我的党龄", "我党龄多少年了", "我入党几年了", "我是哪年入的党"])
def test_party_age_from_the_full_member_date(say, question):
    text = say("demo-dangyuan", question)
    assert "党龄：10 年（从 2016年11月12日 转为正式党员之日算起）" in text, text
    assert "入党时间：2015年11月12日" in text and "至今 11 年" in text
    assert "第七条" in text


def test_a_probationers_party_age(say):
    text = say("demo-yubei", "我的党龄有几年")
    assert "现在还没有党龄" in text and "2027年3月1日" in text


@pytest.mark.parametrize("question", ["我什么时候能转正", "我的预备期啥时候满", "我还有多久可以转正？",
                                      "我转正要交什么材料"])
def test_when_a_probationer_becomes_a_full_member(say, question):
    text = say("demo-yubei", question)
    assert "将于 2027年3月1日 期满，还有3个月零5天" in text, text
    assert "书面转正申请" in text and "支部党员大会讨论表决" in text


def test_a_full_member_asking_about_conversion(say):
    assert "你已于 2016年11月12日 转为正式党员" in say("demo-dangyuan", "我什么时候能转正")


@pytest.mark.parametrize("question", ["我的政治生日", "我的政治生日是哪天", "我政治生日几号"])
def test_political_birthday(say, question):
    text = say("demo-dangyuan", question)
    assert "你的政治生日是 11月12日（2015年11月12日" in text, text
    assert "2027年11月12日是你入党 12 周年" in text


def _meetings(demo):
    with transaction(demo.sessions) as s:
        m = add_meeting(s, "第一党支部", date(2026, 11, 27), "党员大会", hour=15, status="scheduled")
        m.place = "三楼会议室"
        add_meeting(s, "第一党支部", date(2026, 11, 26), "支委会", status="scheduled")
        theme = add_meeting(s, "第一党支部", date(2026, 12, 16), "主题党日", hour=9, status="scheduled")
        theme.place = "党员活动室"


@pytest.mark.parametrize("question", ["下次开会什么时候", "最近有什么会要开，在哪开", "我们支部下回开会是哪天？"])
def test_next_meetings_with_place_and_time(demo, say, question):
    _meetings(demo)
    text = say("demo-dangyuan", question)
    assert "11月27日（周五） 15:00 党员大会，三楼会议室" in text, text
    assert "12月16日（周三） 09:00 主题党日，党员活动室" in text
    assert "支委会" not in text  # for the committee, not every member
    assert "11月26日（周四） 14:00 支委会" in say("demo-shuji", question)


def test_the_theme_day_by_the_branch_rule_when_none_is_scheduled(say):
    text = say("demo-dangyuan", "这个月主题党日哪天")
    assert "第一党支部11月主题党日：11月20日（周五）（已过）" in text, text
    assert "下一次：12月18日（周五） 主题党日（按支部规定的每月20日" in text  # the 20th is a Sunday
    text = say("demo-dangyuan", "下个月主题党日是几号")
    assert "12月主题党日：12月18日（周五）（按支部规定的每月20日" in text


def test_a_scheduled_theme_day_with_its_time_and_place(demo, say):
    _meetings(demo)
    assert "12月主题党日：12月16日（周三） 09:00，党员活动室" in say("demo-dangyuan", "下个月主题党日是几号")
    assert "12月主题党日：12月16日（周三）" in say("demo-dangyuan", "12月的主题党日在哪天")
