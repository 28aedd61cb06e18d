"""发展党员 in the chat: every command for every role, on the demo's pipeline in 第一党支部 (frozen 2026-11-24):
杨帆 applied 11-01 (talk due 12-01), 许诺 an activist since 2025-12-24, 宋佳 a 发展对象 in 公示 11-20…11-26, and
陈晨 (demo-yubei) a 预备党员 since 2026-03-01."""
from __future__ import annotations

import io
from datetime import date, datetime, time

from openpyxl import load_workbook
from sqlalchemy import func, select

from reminders.rules import DEFAULT_TZ
from storage.db import transaction
from storage.models import AuditLog, DevelopmentMilestone, DevelopmentRecord, Member
from tests.conftest import built
from tests.dues_helpers import send


def at(y: int, m: int, d: int, hour: int = 10) -> datetime:
    return datetime.combine(date(y, m, d), time(hour), tzinfo=DEFAULT_TZ)


def counts(rt) -> tuple[int, int]:
    with transaction(rt.sessions) as s:
        return (s.scalar(select(func.count()).select_from(DevelopmentRecord)),
                s.scalar(select(func.count()).select_from(DevelopmentMilestone)))


def member(rt, userid: str) -> Member | None:
    with transaction(rt.sessions) as s:
        m = s.scalars(select(Member).where(Member.wecom_userid == userid)).first()
        if m is not None:
            s.expunge(m)
        return m


def audit_rows(rt, action: str) -> list[AuditLog]:
    with transaction(rt.sessions) as s:
        rows = list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))
        for r in rows:
            s.expunge(r)
        return rows


# --- 发展情况 --------------------------------------------------------------------------------------------------------
def test_overview_by_stage_with_what_needs_attention_first(say):
    text = say("demo-shuji", "发展情况")
    assert "第一党支部发展党员情况（截至2026-11-24）" in text
    assert "入党申请人 1 人，入党积极分子 1 人，发展对象 1 人，预备党员 1 人" in text
    # due soonest first: 宋佳's 公示 ends 11-26, 杨帆's talk is due 12-01, 许诺's review 12-20
    assert text.index("宋佳（发展对象）：公示中，至2026-11-26") < text.index("杨帆（入党申请人）：党组织派人谈话：最迟2026-12-01（还有7天）")
    assert text.index("杨帆（入党申请人）") < text.index("许诺（入党积极分子）：半年考察：最迟2026-12-20")
    assert "· 入党积极分子：许诺（2025-12-24确定，已培养11个月）" in text
    assert "· 预备党员：陈晨（预备期至2027-03-01）" in text

    # an overdue talk comes before everything due soon
    assert "已为赵六建立发展记录" in say("demo-shuji", "登记发展 赵六 申请 2026-10-01 出生1999-01-01")
    text = say("demo-shuji", "发展情况")
    assert text.index("赵六（入党申请人）：党组织派人谈话：应在2026-11-01前（已逾期23天）") < text.index("宋佳（发展对象）")


def test_progress_shows_the_timeline_next_steps_and_their_dates(say):
    text = say("demo-zuzhi", "发展进度 许诺")
    assert text.startswith("【许诺·入党积极分子】第一党支部，2025-12-24确定，已培养11个月；1999-04-02出生")
    for line in ("· 2025-09-24 递交入党申请书", "· 2025-12-24 确定入党积极分子", "· 2025-12-24 指定培养联系人（李红梅）",
                 "· 2026-06-20 半年考察"):
        assert line in text
    assert "· 确定发展对象（支委会研究）：2026-12-24起可以" in text
    assert "· 半年考察：最迟2026-12-20（还有26天）" in text
    assert "没有找到王某的发展记录" in say("demo-shuji", "发展进度 王某")
    assert "请写上姓名" in say("demo-shuji", "发展进度")


# --- 登记发展 --------------------------------------------------------------------------------------------------------
def test_a_new_applicant_and_the_talk_are_recorded_and_audited(say, demo):
    reply = say("demo-shuji", "登记发展 赵六 申请 2026-11-20 出生2000-01-01 企业微信zhaoliu")
    assert "已登记赵六：递交入党申请书 2026-11-20（按2026年细则核对）" in reply
    assert "已为赵六建立发展记录（第一党支部）" in reply and "企业微信账号zhaoliu" in reply
    assert "· 党组织派人谈话：最迟2026-12-20（还有26天）" in reply
    reply = say("demo-zuzhi", "登记发展 赵六 谈话 11月23日 支部书记谈话")
    assert "已登记赵六：党组织派人谈话 2026-11-23" in reply and "注意" not in reply
    rows = audit_rows(demo, "development.record")
    assert [(r.actor, r.detail["step"], r.detail["day"]) for r in rows] == [
        ("王建国", "application", "2026-11-20"), ("李红梅", "talk", "2026-11-23")]
    assert rows[1].detail["note"] == "支部书记谈话"
    # the person can now ask for their own progress from that account
    assert "赵六同志，你的入党进度" in say("zhaoliu", "我的入党进度")


def test_a_late_talk_is_recorded_with_a_warning(say):
    say("demo-shuji", "登记发展 赵六 申请 2026-10-01")
    reply = say("demo-shuji", "登记发展 赵六 谈话 2026-11-20")
    assert "已登记赵六" in reply
    assert "注意：谈话逾期：应在2026-11-01前，实际2026-11-20，晚了19天" in reply and "第七条" in reply
    assert "⚠" in say("demo-shuji", "发展进度 赵六")


def test_refused_entries_change_nothing(say, demo):
    before = counts(demo)
    hard = say("demo-shuji", "登记发展 许诺 发展对象 2026-11-20")
    assert hard.startswith("未登记：许诺的“发展对象”（2026-11-20）。")
    assert "只培养了10个月，不满1年" in hard and "最早2026-12-24" in hard and "第十三条" in hard
    order = say("demo-shuji", "登记发展 杨帆 积极分子 2026-11-20")
    assert "杨帆还没有登记“党组织派人谈话”，应先谈话后积极分子" in order and "登记发展 杨帆 谈话 日期" in order
    assert "还没有钱七的发展记录" in say("demo-shuji", "登记发展 钱七 积极分子 2026-11-20")
    young = say("demo-shuji", "登记发展 孙八 申请 2026-11-20 出生2009-01-01")
    assert "未满18岁" in young and "第五条" in young
    assert "不是可识别的环节" in say("demo-shuji", "登记发展 杨帆 吃饭 2026-11-20")
    assert "还没到" in say("demo-shuji", "登记发展 杨帆 谈话 2026-11-25")
    assert "不是日期" in say("demo-shuji", "登记发展 杨帆 谈话 昨日午后")
    assert "请写上日期" in say("demo-shuji", "登记发展 杨帆 谈话")
    assert "已登记过（2026-11-01）" in say("demo-shuji", "登记发展 杨帆 申请 2026-11-02")
    assert "请写成" in say("demo-shuji", "登记发展 杨帆")
    assert "属于党员名单中的张伟" in say("demo-shuji", "登记发展 杨帆 资料 企业微信demo-dangyuan")
    assert counts(demo) == before and audit_rows(demo, "development.record") == []


def test_a_probationers_meeting_is_the_conversion_meeting(say):
    reply = say("demo-shuji", "登记发展 陈晨 支部大会 2026-11-20 应到12 实到10 赞成10")
    assert "未登记：陈晨的“转正大会”" in reply and "还没有登记“提出转正申请”" in reply


def test_person_details_can_be_completed(say):
    assert "已补充杨帆的资料：手机号13812345678" in say("demo-shuji", "登记发展 杨帆 资料 手机13812345678")
    assert "请写成" in say("demo-shuji", "登记发展 杨帆 资料 随便")


# --- the whole road: approval adds to the roster, 转正 updates it, revoking undoes it ---------------------------------
def test_from_development_object_to_full_member(say, demo, clock):
    clock.set(at(2026, 11, 27))
    for text in ("登记发展 宋佳 介绍人 2026-11-27 李红梅、张伟", "登记发展 宋佳 政审 2026-11-27 合格",
                 "登记发展 宋佳 培训 2026-11-23至2026-11-25 3天"):
        assert "已登记宋佳" in say("demo-shuji", text), text
    assert "公示2026-11-26才结束" not in say("demo-shuji", "登记发展 宋佳 支委会审查 2026-11-27")
    assert "已登记" in say("demo-shuji", "登记发展 宋佳 预审 2026-11-27")
    assert "已登记" in say("demo-shuji", "登记发展 宋佳 志愿书 2026-11-27")
    clock.set(at(2026, 12, 30))
    bad = say("demo-shuji", "登记发展 宋佳 支部大会 2026-12-30 应到11 实到9 赞成5")
    assert "决议未通过" in bad and "第二十条" in bad
    late = say("demo-shuji", "登记发展 宋佳 支部大会 2026-12-30 应到11 实到9 赞成9")
    assert "已登记宋佳" in late and "预审后召开支部大会逾期：应在2026-12-27前" in late and "第十九条" in late
    say("demo-shuji", "登记发展 宋佳 上级谈话 2026-12-30")
    assert member(demo, "demo-fazhan") is None
    clock.set(at(2027, 1, 5))
    approved = say("demo-shuji", "登记发展 宋佳 审批 2027-01-05")
    assert "已加入党员名单：宋佳，预备党员，入党日期2026-12-30" in approved
    m = member(demo, "demo-fazhan")
    assert (m.category, m.joined_on, m.status, m.full_member_on) == ("预备", date(2026, 12, 30), "active", None)
    assert "预备党员" in say("demo-fazhan", "我的信息")  # one person: the record's account is the member's
    assert "宋佳同志，你的入党进度" in say("demo-fazhan", "我的入党进度")

    clock.set(at(2027, 2, 10))
    oath = say("demo-shuji", "登记发展 宋佳 宣誓 2027-02-10")
    assert "入党宣誓逾期：应在2027-02-05前" in oath and "第二十九条" in oath
    clock.set(at(2027, 12, 31))
    say("demo-shuji", "登记发展 宋佳 转正申请 2027-12-20")
    early = say("demo-shuji", "登记发展 宋佳 支部大会 2027-12-29 应到12 实到10 赞成10")
    assert "预备期到2027-12-30才满" in early
    assert "已登记宋佳：支部大会讨论转正" in say("demo-shuji", "登记发展 宋佳 支部大会 2027-12-30 应到12 实到10 赞成10")
    converted = say("demo-shuji", "登记发展 宋佳 转正 2027-12-31")
    assert "转为正式党员，转正日期2027-12-30" in converted
    m = member(demo, "demo-fazhan")
    assert (m.category, m.full_member_on) == ("正式", date(2027, 12, 30))
    assert say("demo-shuji", "发展进度 宋佳").startswith("【宋佳·已转正】")

    # revoking the 转正 and then the approval undoes what they did
    assert "恢复为预备党员" in say("demo-shuji", "撤销发展登记 宋佳 转正审批")
    assert member(demo, "demo-fazhan").category == "预备"
    assert "请先撤销" in say("demo-shuji", "撤销发展登记 宋佳 审批")  # 宣誓, 转正申请 stand on it
    for step in ("转正大会", "转正申请", "宣誓"):
        assert "已撤销" in say("demo-shuji", f"撤销发展登记 宋佳 {step}")
    assert "已从党员名单中移除" in say("demo-shuji", "撤销发展登记 宋佳 审批")
    assert member(demo, "demo-fazhan").status == "removed"
    # approved again: the same member comes back, no second one
    assert "已加入党员名单" in say("demo-shuji", "登记发展 宋佳 审批 2027-01-05")
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Member).where(Member.name == "宋佳")) == 1


def test_revoking_is_audited_and_keeps_the_order(say, demo):
    refused = say("demo-shuji", "撤销发展登记 宋佳 上级同意")
    assert "请先撤销公示" in refused
    reply = say("demo-zuzhi", "撤销发展登记 宋佳 公示")
    assert "已撤销宋佳的“公示”（2026-11-20，示例数据登记）" in reply
    [row] = audit_rows(demo, "development.revoke")
    assert row.actor == "李红梅" and row.detail["step"] == "publicity" and row.detail["end"] == "2026-11-26"
    assert "记录已删除" in say("demo-shuji", "撤销发展登记 杨帆 申请")
    assert "没有杨帆的发展记录" in say("demo-shuji", "发展进度 杨帆").replace("找到", "")
    assert "没有登记过“考察”（2026-01-01）" in say("demo-shuji", "撤销发展登记 许诺 考察 2026-01-01")


# --- roles and privacy ----------------------------------------------------------------------------------------------
def test_only_the_committee_and_the_upper_level_see_the_pipeline(say):
    for text in ("登记发展 杨帆 谈话 2026-11-23", "撤销发展登记 杨帆 申请"):
        assert "只有支部书记、副书记、组织委员可以使用" in say("demo-dangyuan", text)
    for text in ("发展情况", "发展进度 杨帆", "导出发展台账"):
        assert "只有支部书记、副书记、组织委员或上级管理员可以使用" in say("demo-dangyuan", text)
    # another branch's secretary sees nothing of 第一党支部
    assert "没有找到杨帆的发展记录" in say("demo-shuji2", "发展进度 杨帆")
    other = say("demo-shuji2", "发展情况")
    assert "第二党支部" in other and "杨帆" not in other and "目前没有在培养中的人" in other
    assert "还没有杨帆的发展记录" in say("demo-shuji2", "登记发展 杨帆 谈话 2026-11-23")


def test_the_upper_level_sees_every_branch_under_it(say):
    text = say("demo-dangwei", "发展情况")
    assert text.startswith("所辖 2 个党支部发展党员情况（截至2026-11-24）")
    assert "· 第一党支部：入党申请人1，入党积极分子1，发展对象1，预备党员1" in text
    assert "· 第二党支部：没有在培养中的人" in text
    assert "· 第一党支部 杨帆（入党申请人）：党组织派人谈话：最迟2026-12-01" in text
    assert say("demo-dangwei", "发展情况 第一党支部").startswith("第一党支部发展党员情况")
    assert "不是你可以查看的党支部" in say("demo-dangwei", "发展情况 别的支部")
    assert say("demo-dangwei", "发展进度 宋佳").startswith("【宋佳·发展对象】第一党支部，2026-11-10确定，公示至2026-11-26")
    assert "只有支部书记、副书记、组织委员可以使用" in say("demo-dangwei", "登记发展 杨帆 谈话 2026-11-23")


def test_a_person_in_the_pipeline_sees_their_own_stage_and_next_step(say):
    text = say("demo-shenqing", "我的入党进度")  # 杨帆: not in the roster
    assert text.startswith("杨帆同志，你的入党进度（第一党支部）：")
    assert "现在：入党申请人（2026-11-01申请）" in text and "下一步：党组织派人谈话，一般在2026-12-01前。" in text
    assert "许诺" not in text and "宋佳" not in text
    hint = say("demo-shenqing", "发展情况")
    assert "你还不在党员名单中" in hint and "宋佳" not in hint and "许诺" not in hint
    assert "不在支部助手的党员名单里" in say("nobody", "我的入党进度")


def test_political_review_conclusions_stay_with_the_committee(say):
    say("demo-shuji", "登记发展 宋佳 政审 2026-11-24 基本合格")
    assert "结论：基本合格" in say("demo-shuji", "发展进度 宋佳")
    own = say("demo-fazhan", "我的入党进度")
    assert "政治审查 2026-11-24" in own and "合格" not in own
    assert "预备期至2027-03-01" in say("demo-yubei", "我的入党进度")  # a member with a record
    assert "没有查到你的入党进度记录" in say("demo-dangyuan", "我的入党进度")  # a member without one


def test_help_lists_the_commands_by_role(say):
    assert "登记发展 杨帆 谈话 今天" in say("demo-shuji", "帮助")
    member_help = say("demo-dangyuan", "帮助")
    assert "我的入党进度" in member_help and "登记发展" not in member_help and "发展情况" not in member_help
    assert "发展情况" in say("demo-dangwei", "帮助")


# --- 导出发展台账 ------------------------------------------------------------------------------------------------------
def test_export_in_chat_is_an_xlsx_attachment(demo):
    reply = send(demo, "demo-zuzhi", "导出发展台账")
    assert reply.private and reply.file is not None
    file = built(demo, reply)
    assert file.filename == reply.file.filename == "第一党支部发展党员工作台账2026-11-24.xlsx"
    ws = load_workbook(io.BytesIO(file.data))["发展党员工作台账"]
    header = [c.value for c in ws[1]]
    rows = {r[0]: dict(zip(header, r, strict=False)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"杨帆", "许诺", "宋佳", "陈晨"}
    assert rows["宋佳"]["公示结束日期"].date() == date(2026, 11, 26) and rows["宋佳"]["当前阶段"] == "发展对象"
    assert rows["陈晨"]["支部大会赞成人数"] == 10 and rows["陈晨"]["预备期满日期"].date() == date(2027, 3, 1)
    assert rows["陈晨"]["半年考察日期"] == "2024-12-10、2025-06-10"
    upper = send(demo, "demo-dangwei", "导出发展台账")
    assert built(demo, upper).filename.startswith("所辖2个党支部")
