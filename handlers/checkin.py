"""发起签到 / 签到 4827 / 结束签到.

Signing in is one INSERT guarded by the unique (meeting, member) constraint: a member sending twice, or two workers
handling the same member at once, end with exactly one row, and the repeat is told when the first one landed.
What counts as a sign-in message (slips of the verb, spaced or bare codes) is handlers.signin_text's.
"""
from __future__ import annotations

import re

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.roles import is_committee
from bot.signin_links import screen_url
from handlers.common import managed_org
from handlers.meetings import COMMITTEE, describe_meeting, kinds_from, parse_extras, show_hm, show_time
from handlers.people import push_to, secretaries_of
from storage import attendance as att
from storage import signin, signin_guard
from storage.attendee_rules import quorum, quorum_reached
from storage.meetings import (
    WINDOW,
    MeetingError,
    audience_of,
    create_meeting,
    current_meeting,
    find_latest_by_code,
    find_live_by_code,
    in_scope,
    kinds_text,
    label,
    may_attend,
    meeting_summary,
    open_for_member,
    open_hosted,
    open_meetings_for_member,
    open_planned,
    planned_for_day,
)
from storage.models import Meeting, Member, Organization
from storage.org_settings import get_setting
from storage.quoting import clip

CODE = re.compile(r"\d{4}")
# said after 发起签到 to open a second sign-in while one is still running
CONFIRM_WORDS = ("确认", "确定")


# 发起签到 -----------------------------------------------------------------------------------------------------
def open_signin(incoming: Incoming, ctx: Context) -> Reply:
    usage = "发起签到 主题党日（或 主题党日+党课，可加主题和地点）"
    org = managed_org(ctx)
    said = [t.strip("。.!！,，") for t in ctx.args.split()]
    confirmed = any(t in CONFIRM_WORDS for t in said)
    tokens = [t for t in said if t and t not in CONFIRM_WORDS]
    kinds = kinds_from(tokens, usage)
    extras = parse_extras(ctx, tokens[1:], org)
    running = open_hosted(ctx.session, org, ctx.now)
    same = next((m for m in running if m.kinds == set(kinds)), None)
    if same is None:  # an arranged meeting whose window opened, and these kinds add to it (主题党日 → 主题党日+党课)
        same = next((m for m in running if m.status == "scheduled" and m.kinds < set(kinds)), None)
    if same is not None and same.status == "scheduled":  # today's 安排, its window already open: this opens it
        running, same = [m for m in running if m is not same], None
    if same is not None:
        # a second tap on 发起签到: hand out the same code
        return Reply(text="\n".join([f"这次{label(same)}的签到已在进行中。", *describe_meeting(ctx, same),
                                     f"签到码：{same.code}，请党员发送“签到 {same.code}”。",
                                     screen_line(ctx, same)]))
    if running and not confirmed:
        return ask_before_another(ctx, running, kinds)
    planned = planned_for_day(ctx.session, org, kinds, ctx.now, ctx.settings.tz)
    if planned is not None:  # today's 安排 (or the 主题党日 a 请假 made from the rule): its code and leave stay
        meeting = open_planned(planned, ctx.now, kinds)
        meeting.title, meeting.place = extras.title or meeting.title, extras.place or meeting.place
    else:
        try:
            meeting = create_meeting(ctx.session, org=org, kinds=kinds, starts_at=ctx.now, opens_at=ctx.now,
                                     closes_at=ctx.now + WINDOW, title=extras.title, place=extras.place,
                                     creator=ctx.member, invited=extras.invited, status="open", now=ctx.now)
        except MeetingError as err:
            raise UserError(str(err)) from None
    ctx.audit("meeting.open", org.name, meeting_id=meeting.id, kinds=kinds, code=meeting.code)
    tz = ctx.settings.tz
    late = get_setting(org, "late_after_minutes")
    return Reply(text="\n".join([
        f"已发起签到，签到码：{meeting.code}",
        *describe_meeting(ctx, meeting),
        f"请党员发送“签到 {meeting.code}”（也可发“qd {meeting.code}”）。",
        f"开始{late}分钟后签到记为迟到；{show_hm(meeting.signin_closes_at, tz)}截止。",
        *sign_in_opener(ctx, meeting),
        "发送「签到情况」看谁还没到，散会后发送「结束签到」。",
        screen_line(ctx, meeting),
    ]))


def sign_in_opener(ctx: Context, meeting: Meeting) -> list[str]:
    """Whoever opens a sign-in on the spot is in the room: they count as present (a meeting arranged ahead with
    安排 does not count its creator, who may not come). An 上级管理员 opening for a branch they do not belong to is
    not one of its expected members and is left out."""
    if not may_attend(meeting, ctx.member):
        return []
    signin.sign_in(ctx.session, meeting, ctx.member, ctx.now, via=signin.BY_OPENER)
    return ["你是发起人，已记为出席。"]


def ask_before_another(ctx: Context, running: list[Meeting], kinds: list[str]) -> Reply:
    """A second meeting while one is signing in is usually a slip (the first was never closed): ask first."""
    tz = ctx.settings.tz
    lines = ["本支部还有签到在进行中："]
    lines += [f"· {label(m)}，{show_time(m.starts_at, tz)}开始，签到码 {m.code}" for m in running]
    lines += ["如果那场会已经开完，请先发送「结束签到」，再发起新的签到。",
              f"如果确实要同时再开一场，请在原消息后加上“确认”再发一次，例如：发起签到 {'+'.join(kinds)} 确认"]
    return Reply(text="\n".join(lines))


def screen_line(ctx: Context, meeting: Meeting) -> str:
    """The projector link, for the committee member who opened the sign-in: never shown in a group, where it
    would let anyone watch (a second 发起签到 in private hands out the same link)."""
    if ctx.incoming.in_group:
        return f"签到大屏链接不在群里发：请私聊我再发一次“发起签到 {kinds_text(meeting)}”获取。"
    url = screen_url(ctx.settings, meeting.id, meeting.signin_closes_at)
    return f"签到大屏（投到会议室屏幕，党员用企业微信扫码即可签到）：{url}"


# 签到 4827 ----------------------------------------------------------------------------------------------------
def is_sign_in(text: str, _words: list[str]) -> bool:
    from handlers.signin_text import parse

    return parse(text) is not None


def sign_in(incoming: Incoming, ctx: Context) -> Reply:
    from handlers.signin_text import parse

    said = parse(ctx.args)
    code = said.code
    if not code:
        return ask_for_code(ctx)
    if not CODE.fullmatch(code):
        raise UserError(f"签到码是4位数字，“{clip(code)}”不对。请核对后重发，例如：签到 4827")
    tz = ctx.settings.tz
    if said.bare and not open_meetings_for_member(ctx.session, ctx.member, ctx.now):
        # a number on its own is a code only while a sign-in is open for the sender
        return Reply(text=f"现在没有你可以签到的会议，“{code}”没有当作签到码。如果刚散会、签到已结束，"
                          "确实参加了会议的请联系书记补签；想问别的，请直接用文字提问，或发送「帮助」。")
    # a wrong code is answered with a Reply, not a UserError: the record of it must be committed, not rolled back
    signin_guard.lock_member(ctx.session, ctx.member.id)
    paused = signin_guard.paused_until(ctx.session, ctx.member.id, ctx.now)
    if paused is not None:
        return Reply(text=paused_text(paused, tz))
    meeting = find_live_by_code(ctx.session, code, ctx.now)
    if meeting is None:
        old = find_latest_by_code(ctx.session, code)
        if old is not None and may_attend(old, ctx.member):
            raise UserError(f"{label(old)}（{show_time(old.starts_at, tz)}）的签到已经结束，签到码已失效。"
                            "如确实参加了会议，请联系书记补签。")
        return wrong_code(ctx, None, f"签到码 {code} 不对或已失效，请核对书记公布的签到码后重发。")
    try:
        done = signin.sign_in(ctx.session, meeting, ctx.member, ctx.now, via="code")
    except signin.SignInRefused as err:
        if err.reason == signin.OUT_OF_SCOPE and not in_scope(meeting, ctx.member):
            # another branch's code: a wrong code for this member
            return wrong_code(ctx, meeting, refusal_text(err, ctx.member, tz))
        raise UserError(refusal_text(err, ctx.member, tz)) from None
    return Reply(text=outcome_text(ctx.member, meeting, done, tz))


def ask_for_code(ctx: Context) -> Reply:
    """签到 without a code: the code proves the member is in the room, so it is asked for, never assumed."""
    tz = ctx.settings.tz
    open_now = open_meetings_for_member(ctx.session, ctx.member, ctx.now)
    if not open_now:
        return Reply(text="现在没有你可以签到的会议。开会时请在“签到”后写上书记公布的4位签到码，例如：签到 4827")
    if len(open_now) == 1:
        meeting = open_now[0]
        row = att.row_for(ctx.session, meeting.id, ctx.member.id)
        if row is not None and row.status in (att.PRESENT, att.LATE):
            return Reply(text=f"{ctx.member.name}，你已于{show_hm(row.at, tz)}签到{label(meeting)}，无需重复签到。")
        return Reply(text=f"{label(meeting)}（{show_hm(meeting.starts_at, tz)}开始）正在签到。请发送会场屏幕上"
                          "显示的4位签到码，例如：签到 4827（换成屏幕上的数字），也可以扫屏幕上的二维码。")
    return Reply(text=f"现在有{len(open_now)}场会议在签到。请发送你所在会场屏幕上显示的4位签到码，例如：签到 4827"
                      "（换成屏幕上的数字），也可以扫屏幕上的二维码。")


def paused_text(until, tz) -> str:
    return (f"签到码连续输错{signin_guard.MEMBER_LIMIT}次，签到已暂停到{show_hm(until, tz)}，请到时再发。"
            "如在会场，可扫大屏上的二维码签到。")


def wrong_code(ctx: Context, aimed_at: Meeting | None, text: str) -> Reply:
    """Record a wrong code against the meeting it was aimed at (the other branch's meeting it opened, else the
    member's own open one); say when it starts a pause; tell the meeting's secretaries when it is being guessed."""
    meeting = aimed_at or open_for_member(ctx.session, ctx.member, ctx.now)
    seen = signin_guard.record_failure(ctx.session, ctx.member.id, meeting.id if meeting else None, ctx.now)
    if meeting is not None and seen >= signin_guard.MEETING_LIMIT:
        window = int(signin_guard.MEETING_WINDOW.total_seconds() // 60)
        signin_guard.alert_secretaries(
            ctx.session, meeting, secretaries_of(ctx, meeting.organization),
            f"{label(meeting)}（{show_time(meeting.starts_at, ctx.settings.tz)}开始）的签到{window}分钟内收到"
            f"{seen}次错误的签到码，可能有人在试猜。请发送「签到情况」核对已签到的人，签到码只在会场公布。", ctx.now)
    paused = signin_guard.paused_until(ctx.session, ctx.member.id, ctx.now)
    if paused is not None:
        return Reply(text=f"{text}\n{paused_text(paused, ctx.settings.tz)}")
    return Reply(text=text)


def refusal_text(err: signin.SignInRefused, member: Member, tz) -> str:
    meeting = err.meeting
    if err.reason == signin.OUT_OF_SCOPE and in_scope(meeting, member):  # the branch's, but not for everyone
        return f"这次是{label(meeting)}，只有{audience_of(meeting).text or '参会人员'}参加，你无需签到。"
    if err.reason == signin.OUT_OF_SCOPE:
        return (f"这次是{meeting.organization.name}的{label(meeting)}，你所在的{member.organization.name}不在参会范围内，"
                "无需签到。如是联合会议，请书记在发起签到时邀请你所在支部。")
    if err.reason == signin.NOT_OPEN:
        return (f"{label(meeting)}{show_time(meeting.starts_at, tz)}开始，"
                f"签到{show_hm(meeting.signin_opens_at, tz)}开放，请届时再签。")
    return (f"{label(meeting)}（{show_time(meeting.starts_at, tz)}）的签到已经结束。"
            "如确实参加了会议，请联系书记补签。")


def outcome_text(member: Member, meeting: Meeting, done: signin.SignedIn, tz) -> str:
    """The reply to a sign-in by code or by scan: success (with lateness), or when the first one landed."""
    row = done.row
    if not done.new:
        return f"{member.name}，你已于{show_hm(row.at, tz)}签到{label(meeting)}，无需重复签到。"
    text = signed_text(member, meeting, row.status, row.at, tz)
    if done.replaced:
        text += f"\n（你原登记为{done.replaced}，现按签到记录。）"
    return text


def signed_text(member: Member, meeting: Meeting, status: str, at, tz) -> str:
    text = (f"签到成功！{member.name}，{label(meeting)}（{show_time(meeting.starts_at, tz)}开始），"
            f"签到时间 {show_hm(at, tz)}")
    if status == att.LATE:
        minutes = int((at - meeting.starts_at).total_seconds() // 60)
        text += f"，迟到 {minutes} 分钟"
    return text + "。"


# 结束签到 -----------------------------------------------------------------------------------------------------
def close_signin(incoming: Incoming, ctx: Context) -> Reply:
    from handlers.signin_text import code_arg

    org = managed_org(ctx)
    code = code_arg(ctx.args)
    meeting = current_meeting(ctx.session, org, ctx.now, code=code, open_only=code is None, hosted_only=True)
    if meeting is None:
        raise UserError("没有进行中的签到。" if code is None else f"本支部没有签到码为 {clip(code)} 的会议。")
    if meeting.status == "closed":
        raise UserError(f"{label(meeting)}的签到已于{show_time(meeting.signin_closes_at, ctx.settings.tz)}结束。"
                        "发送「签到情况」查看结果。")
    if ctx.now < meeting.signin_opens_at:
        raise UserError(f"{label(meeting)}的签到还没开始，不能结束。")
    meeting.status = "closed"
    if meeting.signin_closes_at > ctx.now:
        meeting.signin_closes_at = ctx.now
    summary = meeting_summary(ctx.session, meeting)
    ctx.audit("meeting.close", org.name, meeting_id=meeting.id, attended=summary.attended,
              expected=len(summary.expected))
    lines = summary_lines(ctx, meeting, summary)
    # the asker reads the summary in this reply; the 书记 is told only when someone else closed the sign-in
    secretaries = secretaries_of(ctx, org)
    pushed = []
    for secretary in secretaries:
        if secretary.id != ctx.member.id and push_to(
                ctx, secretary, Reply(text="\n".join(["签到已结束，结果如下：", *lines])),
                f"checkin_summary:{meeting.id}:{secretary.id}"):
            pushed.append(secretary.name)
    tail = []
    if pushed:
        tail = [f"结果已推送给{'、'.join(pushed)}。"]
    elif all(s.id != ctx.member.id for s in secretaries):
        tail = ["无法推送给书记（未绑定企业微信或钉钉），请以本条为准。"]
    return Reply(text="\n".join([f"已结束{label(meeting)}的签到。", *lines, *tail]), private=True)


def summary_lines(ctx: Context, meeting: Meeting, summary: att.Summary, with_times: bool = False) -> list[str]:
    """The body shared by 签到情况 and 结束签到: counts, names, participation and the threshold flag."""
    tz = ctx.settings.tz
    host: Organization = meeting.organization
    threshold = get_setting(host, "participation_threshold")
    many_orgs = len({m.organization_id for m in summary.expected}) > 1

    def name(m) -> str:
        shown = f"{m.name}（{m.organization.name}）" if many_orgs else m.name
        row = summary.rows.get(m.id)
        if row is not None and row.status in (att.PRESENT, att.LATE) and with_times:
            shown += f" {show_hm(row.at, tz)}"
        if row is not None and row.status in (att.LEAVE, att.ABSENT) and row.note:
            shown += f"（{row.note}）"
        return shown

    def names(ms) -> str:
        return "、".join(name(m) for m in ms) or "无"

    rate = att.percent_text(summary.participation)
    flag = f"  ⚠ 低于参与率下限{threshold * 100:g}%" if summary.below(threshold) else ""
    who = f"（{summary.audience}）" if summary.audience else ""
    return [
        *describe_meeting(ctx, meeting),
        f"应到 {len(summary.expected)} 人{who}，实到 {summary.attended} 人（出席 {len(summary.present)}，"
        f"迟到 {len(summary.late)}），请假 {len(summary.leave)} 人，缺席 {len(summary.absent)} 人。",
        *quorum_lines(meeting, summary),
        f"参与率：{rate}（(出席+迟到)÷(应到−请假)）{flag}",
        f"出席：{names(summary.present)}",
        f"迟到：{names(summary.late)}",
        f"请假：{names(summary.leave)}",
        f"缺席：{names(summary.absent)}",
    ]


def quorum_lines(meeting: Meeting, summary: att.Summary) -> list[str]:
    """A 支委会 decides only with more than half of its 委员 present (T01.2b): said once the roll is final, and
    while it is signing in, how many more are needed."""
    n = summary.committee_size
    if n is None:
        return []
    came, need = summary.committee_attended, quorum(n)
    if meeting.status != "closed":
        if came >= need:
            return [f"目前到会委员 {came}/{n}，已超过半数。"]
        return [f"目前到会委员 {came}/{n}，超过半数需到 {need} 人，还差 {need - came} 人。"]
    if quorum_reached(came, n):
        return [f"到会委员 {came}/{n}，超过半数，会议有效。"]
    return [f"到会委员 {came}/{n}，不足半数（需 {need} 人），会议决定无效，请改期召开。"]


HANDLERS = (
    Handler(name="checkin_open", func=open_signin, commands=("发起签到", "开始签到"), allowed=is_committee,
            roles_text=COMMITTEE, summary="发起会议签到，得到4位签到码", example="发起签到 主题党日+党课 三楼会议室",
            section="支部委员"),
    Handler(name="checkin_close", func=close_signin, commands=("结束签到",), allowed=is_committee,
            roles_text=COMMITTEE, summary="结束签到，回复出勤汇总（其他委员结束的同时告知书记）", example="结束签到",
            section="支部委员"),
    Handler(name="checkin_sign", func=sign_in, match=is_sign_in, summary="会议签到", example="签到 4827"),
)
