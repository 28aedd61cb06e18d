"""支部概况, 未开会支部, 支部体检 as conversations: the 上级管理员, a 书记, a member who is refused, and scope."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from reminders.oversight_state import load_checkups, load_tree
from storage.db import transaction
from storage.models import Attendance, CommitteeTerm, DuesPayment, Meeting, MeetingKind, Member, Organization, Role
from tests.query_count import statements_by_size
from tests.reminder_helpers import committee_with_branches

TODAY = date(2026, 11, 24)


def test_overview_for_the_upper_admin(ov_say):
    text = ov_say("demo-dangwei", "支部概况")
    lines = text.splitlines()
    assert "共 4 个党支部：红 2、黄 1、绿 1" in lines[0]
    assert lines[1] == "· 红 第一党支部：1 名党员连续 6 个月未交党费"
    assert lines[2] == "· 红 第三党支部：任期已届满 40 天未换届"
    assert lines[3] == "· 黄 第二党支部：11月参与率 62%"
    assert lines[4] == "· 绿 第四党支部：各项正常"
    assert "支部体检 支部名称" in lines[-1]


def test_checkup_of_the_quiet_branch(ov_say):
    text = ov_say("demo-dangwei", "支部体检 第三党支部")
    assert text.startswith("【第三党支部 支部体检】红\n红：任期已届满 40 天未换届、第3季度未召开党员大会和党课")
    assert "黄：40 天没有组织活动" in text
    assert "· 10月（已结束）：应开 主题党日、支委会；已开 主题党日、支委会" in text
    assert "· 最近一次组织活动：2026-10-15（40 天前）" in text
    assert "· 支委会任期：2026-10-15 届满，已逾期 40 天未换届" in text
    two = ov_say("demo-dangwei", "支部体检 第二党支部")
    assert "黄：11月参与率 62%、任期 2026-12-20 届满（还有26天）" in two
    assert "· 参与率：11月 1 次签到会议，平均 62%（下限 80%）" in two
    one = ov_say("demo-dangwei", "支部体检 第一党支部")
    assert "· 党费：连续欠交 3 个月以上 2 人，其中 6 个月以上 1 人" in one
    assert "· 60 天内预备期满" not in one  # 陈晨's 预备期 ends 2027-03-01


def test_missing_meetings(ov_say):
    now = ov_say("demo-dangwei", "未开会支部")
    assert now.splitlines()[0] == "11月（截至今天）1 个党支部还有应开未开的会议（共 4 个）："
    assert "· 第三党支部：主题党日、支委会" in now
    assert ov_say("demo-dangwei", "未开会支部 上月") == "10月（已结束）4 个党支部都已按要求开会。"
    quarter = ov_say("demo-dangwei", "未开会支部 本季度")
    assert quarter.startswith("第4季度（截至今天）4 个党支部") and "· 第四党支部：党员大会、党课" in quarter
    last = ov_say("demo-dangwei", "未开会支部 上季度")
    assert "第3季度（已结束）1 个党支部" in last and "· 第三党支部：党员大会、党课" in last
    assert "例如“未开会支部 上月”" in ov_say("demo-dangwei", "未开会支部 明年")


def test_a_secretary_sees_only_their_branch(ov_say):
    text = ov_say("demo-shuji", "支部概况")
    assert "共 1 个党支部：红 1、黄 0、绿 0" in text and "第二党支部" not in text
    assert ov_say("demo-shuji", "支部体检").startswith("【第一党支部 支部体检】红")
    assert ov_say("demo-shuji", "支部体检 第二党支部").startswith("没有找到“第二党支部”")
    assert ov_say("demo-shuji3", "支部体检 第三党支部").startswith("【第三党支部 支部体检】红")
    assert "第一党支部" not in ov_say("demo-shuji3", "未开会支部 本季度")


def test_a_member_is_refused(ov_say):
    for text in ("支部概况", "未开会支部 上月", "支部体检 第一党支部"):
        reply = ov_say("demo-dangyuan", text)
        assert reply.endswith("只有上级管理员或支部书记可以使用。发送「帮助」看看你可以做什么。"), reply


def test_another_party_committee_is_not_found(ov_say, dues_demo):
    with transaction(dues_demo.sessions) as s:
        other = Organization(name="另一机关党委", type="党委", settings={})
        s.add(other)
        s.flush()
        branch = Organization(name="另一党支部", type="党支部", parent_id=other.id, settings={})
        s.add(branch)
        s.flush()
        admin = Member(name="钱管理", wecom_userid="other-admin", dingtalk_userid="other-admin",
                       organization_id=other.id, category="正式")
        s.add(admin)
        s.flush()
        s.add(Role(member_id=admin.id, organization_id=other.id, role="上级管理员"))
    text = ov_say("other-admin", "支部概况")
    assert "共 1 个党支部" in text and "第一党支部" not in text and "另一党支部" in text
    assert ov_say("other-admin", "支部体检 第一党支部").startswith("没有找到“第一党支部”")
    assert ov_say("demo-dangwei", "支部体检 另一党支部").startswith("没有找到“另一党支部”")
    assert "另一党支部" not in ov_say("demo-dangwei", "支部概况")


def test_plain_demo_without_history(say):
    text = say("demo-dangwei", "支部概况")
    assert "共 2 个党支部：红 2" in text and "10月未召开主题党日和支委会" in text


# --- a fixed number of queries, whatever the number of branches ---------------------------------------------------
def build(session, n: int) -> list[int]:
    ids = []
    for b, org in enumerate(committee_with_branches(session, n)):
        ids.append(org.id)
        session.add(CommitteeTerm(organization_id=org.id, elected_on=date(2025, 1, 1), term_years=3,
                                  ends_on=date(2028, 1, 1)))
        people = [Member(name=f"党员{b}-{k}", wecom_userid=f"u{n}-{b}-{k}", organization_id=org.id,
                         category="正式", joined_on=date(2010, 1, 1)) for k in range(4)]
        session.add_all(people)
        session.flush()
        for p in people[1:]:  # one member has never paid
            session.add(DuesPayment(member_id=p.id, month="2026-01", amount_fen=100, paid_on=date(2026, 1, 20),
                                    source="manual"))
        starts = datetime.combine(date(2026, 11, 20), time(9), tzinfo=ZoneInfo("Asia/Shanghai"))
        mt = Meeting(organization_id=org.id, title="主题党日", starts_at=starts, signin_opens_at=starts,
                     signin_closes_at=starts, status="closed")
        mt.kind_rows = [MeetingKind(kind="主题党日")]
        session.add(mt)
        session.flush()
        session.add_all([Attendance(meeting_id=mt.id, member_id=p.id, status="present", via="manual")
                         for p in people[:3]])
    session.flush()
    return ids


def test_the_overview_uses_a_fixed_number_of_queries(db_url):
    def run(s, ids, n):
        cs = load_checkups(s, TODAY, ids, tree=load_tree(s))
        assert len(cs) == n and all(c.participation.rate == 0.75 for c in cs)

    counts = statements_by_size(db_url, build, run)
    assert counts[3] == counts[30], counts


def test_the_upper_admin_views_a_chosen_branch(ov_say):
    assert ov_say("demo-dangwei", "待办提醒 第二党支部").startswith("第二党支部未来30天的提醒")
    assert "请写支部名称，例如“待办提醒 第一党支部”" in ov_say("demo-dangwei", "待办提醒")
    assert ov_say("demo-dangwei", "待办提醒 另一党支部").startswith("没有找到“另一党支部”")
    seen = ov_say("demo-dangwei", "签到情况 第二党支部")
    # the demo's past meetings have no sign-in code: they show as recorded after the fact
    assert seen.startswith("【主题党日+支委会签到情况】会后登记") and "实到 5 人" in seen
    assert "请写支部名称，例如“签到情况 第一党支部”" in ov_say("demo-dangwei", "签到情况")
    # a secretary keeps their own view; a member is still refused
    assert ov_say("demo-shuji", "待办提醒").startswith("第一党支部未来30天的提醒")
    assert "只有支部书记、副书记、组织委员或上级管理员可以使用" in ov_say("demo-dangyuan", "待办提醒")


def test_a_committee_threshold_applies_to_its_branches(ov_say, dues_demo):
    from storage.org_settings import set_setting
    from storage.orgs import find_org

    with transaction(dues_demo.sessions) as s:
        set_setting(s, find_org(s, "示范机关党委"), "参与率下限", "60%")
    # participation is no longer a reason; the term ending in 26 days still is
    assert "· 黄 第二党支部：任期 2026-12-20 届满（还有26天）" in ov_say("demo-dangwei", "支部概况")
    with transaction(dues_demo.sessions) as s:
        set_setting(s, find_org(s, "第二党支部"), "参与率下限", "90%")  # the branch's own value wins
    assert "· 黄 第二党支部：11月参与率 62%" in ov_say("demo-dangwei", "支部概况")


def test_help_lists_the_commands(ov_say):
    text = ov_say("demo-dangwei", "帮助")
    assert "支部概况" in text and "支部体检" in text and "未开会支部" in text
