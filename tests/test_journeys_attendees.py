"""Who is expected at a meeting follows its kinds (domain.md T01.2, T01.3, T04.2): a 支委会 is for the 支部委员 and
needs more than half of them, a 党小组会 for the group it names, the other kinds for the whole branch.

第一党支部 (12 members) has four 委员: 王建国 (demo-shuji, 书记), 李红梅 (demo-zuzhi, 组织委员), 赵静 (demo-b1-01,
宣传委员) and 孙磊 (demo-b1-02, 纪检委员); 张伟 (demo-dangyuan) is an ordinary member. The clock is frozen at
2026-11-24 10:00 (Beijing)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from storage.db import transaction
from storage.models import Member, Organization
from tests.signin_helpers import beijing, code_of, failures, later, meetings, rows


def test_a_committee_meeting_expects_the_committee_and_says_whether_it_had_a_quorum(demo, say, clock):
    opened = say("demo-shuji", "发起签到 支委会 研究发展对象")
    code = code_of(opened)
    assert "你是发起人，已记为出席" in opened
    refused = say("demo-dangyuan", f"签到 {code}")
    assert refused == "这次是支委会「研究发展对象」，只有支部委员参加，你无需签到。"
    assert "张伟" not in rows(demo, code) and failures(demo) == 0  # not a wrong code, no guess counted
    later(clock, 2)
    assert say("demo-zuzhi", f"签到 {code}").startswith("签到成功！李红梅")
    status = say("demo-shuji", "签到情况")
    assert "应到 4 人（支部委员），实到 2 人" in status, status
    assert "目前到会委员 2/4，超过半数需到 3 人，还差 1 人。" in status
    assert "缺席：赵静、孙磊" in status and "张伟" not in status
    say("demo-b1-01", f"签到 {code}")
    assert "目前到会委员 3/4，已超过半数。" in say("demo-shuji", "签到情况")
    closed = say("demo-shuji", "结束签到")
    assert "应到 4 人（支部委员），实到 3 人" in closed and "参与率：75.0%" in closed
    assert "到会委员 3/4，超过半数，会议有效。" in closed and "缺席：孙磊" in closed


def test_without_more_than_half_the_decisions_do_not_stand(demo, say, clock):
    code = code_of(say("demo-zuzhi", "发起签到 支委会"))
    say("demo-shuji", f"签到 {code}")
    closed = say("demo-zuzhi", "结束签到")
    assert "到会委员 2/4，不足半数（需 3 人），会议决定无效，请改期召开。" in closed, closed


def test_the_other_kinds_and_a_combined_meeting_expect_the_whole_branch(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 党员大会"))
    assert say("demo-dangyuan", f"签到 {code}").startswith("签到成功！张伟")
    status = say("demo-shuji", "签到情况")
    assert "应到 12 人，实到 2 人" in status and "委员" not in status.split("参与率")[0]
    say("demo-shuji", "结束签到")
    # a 支委会 held with a 党课: everyone the 党课 calls, and the 委员 still make or miss the quorum
    later(clock, 180)
    both = code_of(say("demo-shuji", "发起签到 支委会+党课"))
    assert say("demo-dangyuan", f"签到 {both}").startswith("签到成功！张伟")
    closed = say("demo-shuji", "结束签到")
    assert "应到 12 人，实到 2 人" in closed and "到会委员 1/4，不足半数" in closed


@pytest.fixture
def group(demo):
    """第一党小组 under 第一党支部: 郑强 (demo-b1-04), 冯丽 (demo-b1-05) and 何军 (demo-b1-06)."""
    with transaction(demo.sessions) as s:
        branch = s.scalars(select(Organization).where(Organization.name == "第一党支部")).one()
        g = Organization(name="第一党小组", type="党小组", parent_id=branch.id, settings={})
        s.add(g)
        s.flush()
        for m in s.scalars(select(Member).where(Member.wecom_userid.in_(["demo-b1-04", "demo-b1-05", "demo-b1-06"]))):
            m.organization_id = g.id
    return demo


def test_a_group_meeting_expects_its_group_and_one_for_the_branch_everyone(group, say, clock):
    opened = say("demo-shuji", "发起签到 党小组会 第一党小组")
    code = code_of(opened)
    assert "你是发起人" not in opened  # the 书记 is not in this group
    assert "只有第一党小组参加" in say("demo-dangyuan", f"签到 {code}")
    assert say("demo-b1-04", f"签到 {code}").startswith("签到成功！郑强")
    closed = say("demo-shuji", "结束签到")
    assert "应到 3 人（第一党小组），实到 1 人" in closed and "缺席：冯丽、何军" in closed, closed
    assert "· 参与率：11月 1 次签到会议，平均 33%" in say("demo-dangwei", "支部体检 第一党支部")  # 1 of the group's 3
    later(clock, 180)
    code = code_of(say("demo-shuji", "发起签到 党小组会"))  # no group named: the whole branch
    assert say("demo-dangyuan", f"签到 {code}").startswith("签到成功！张伟")
    assert "应到 12 人，实到 2 人" in say("demo-shuji", "签到情况")


def test_a_recorded_committee_meeting_means_the_committee(demo, say, clock):
    clock.set(beijing(2026, 12, 6, 16, 0))
    before = meetings(demo)
    refused = say("demo-shuji", "登记会议 支委会 12月3日 缺席 张伟")
    assert "张伟不是这次支委会的参会人员：支委会只有支部委员参加。未做任何改动。" in refused, refused
    assert meetings(demo) == before
    reply = say("demo-shuji", "登记会议 支委会 12月3日 全体")
    n = int(re.search(r"编号 (\d+)", reply).group(1))
    assert "应到 4 人（支部委员），实到 4 人" in reply and "到会委员 4/4，超过半数，会议有效" in reply
    assert set(rows(demo)) == {"王建国", "李红梅", "赵静", "孙磊"}
    retyped = say("demo-shuji", f"修改会议 {n} 党员大会")  # now the whole branch is called
    assert "应到 12 人，实到 12 人" in retyped and "到会委员" not in retyped
    back = say("demo-shuji", f"修改会议 {n} 支委会 缺席 孙磊")  # and back: the others' rows go
    assert "应到 4 人（支部委员），实到 3 人" in back and "到会委员 3/4" in back
    assert set(rows(demo)) == {"王建国", "李红梅", "赵静", "孙磊"}


def test_a_small_branch_meets_as_its_secretary_and_deputy(demo, say):
    """T04.2b: under 7 正式党员 there is no committee, only a 书记 and perhaps a 副书记: they are who is expected."""
    with transaction(demo.sessions) as s:
        gao = s.scalars(select(Member).where(Member.name == "高峰")).one()
        for role in list(gao.roles):
            if role.role == "组织委员":
                role.role = "副书记"
    code = code_of(say("demo-shuji2", "发起签到 支委会"))
    assert "只有支部委员参加" in say("demo-b2-02", f"签到 {code}")
    closed = say("demo-shuji2", "结束签到")
    assert "应到 2 人（支部委员），实到 1 人" in closed and "到会委员 1/2，不足半数（需 2 人）" in closed


def test_the_upper_admin_sees_a_committee_meetings_participation_against_the_committee(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 支委会"))
    for uid in ("demo-zuzhi", "demo-b1-01", "demo-b1-02"):
        say(uid, f"签到 {code}")
    say("demo-shuji", "结束签到")
    checkup = say("demo-dangwei", "支部体检 第一党支部")
    assert "· 参与率：11月 1 次签到会议，平均 100%" in checkup, checkup


def test_a_member_is_not_shown_or_given_leave_for_a_committee_meeting(demo, say):
    say("demo-shuji", "安排 支委会 2026-11-26 14:00 二楼小会议室")
    assert "支委会" not in say("demo-dangyuan", "下次开会什么时候")
    assert "11月26日（周四） 14:00 支委会，二楼小会议室" in say("demo-b1-01", "下次开会什么时候")  # 宣传委员
    assert say("demo-dangyuan", "请假 支委会 出差").startswith("近期没有安排需要你参加的支委会")
    assert rows(demo) == {}


def test_through_wecom_a_member_is_told_the_committee_meeting_is_not_theirs(wecom_demo, wecom_client):
    from bot.app import create_app

    http = create_app(runtime=wecom_demo).test_client()

    def say(user: str, text: str) -> str:
        query, body = wecom_client.encrypt_envelope(wecom_client.text_xml(user, text))
        response = http.post(f"/wecom/callback?{query}", data=body.encode(), content_type="text/xml")
        assert response.status_code == 200
        return wecom_client.open_reply(response.data).content

    code = code_of(say("demo-zuzhi", "发起签到 支委会"))
    assert say("demo-dangyuan", f"签到 {code}") == "这次是支委会，只有支部委员参加，你无需签到。"
    assert say("demo-b1-02", f"签到 {code}").startswith("签到成功！孙磊")
    closed = say("demo-zuzhi", "结束签到")
    assert "应到 4 人（支部委员），实到 2 人" in closed and "到会委员 2/4，不足半数" in closed
