"""签到情况: who is present, late, on leave and missing, and the participation rate against the branch's threshold."""
from __future__ import annotations

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.roles import SECRETARY_ROLES, RoleSet
from handlers.checkin import summary_lines
from handlers.common import chosen_branch, managed_org
from handlers.meetings import COMMITTEE, show_hm
from storage.meetings import current_meeting, label, meeting_summary, recorded_meeting, recorded_numbered
from storage.quoting import clip


def attendance_status(incoming: Incoming, ctx: Context) -> Reply:
    from handlers.signin_text import code_arg

    ctx.args = ctx.args.strip("。.?？!！ ")  # “签到情况？” is the question, not a code or a branch called “？”
    chosen = chosen_branch(ctx, "签到情况")
    org = chosen or managed_org(ctx)
    code = None if chosen else code_arg(ctx.args)
    meeting = current_meeting(ctx.session, org, ctx.now, code=code)
    if meeting is None and code and code.isdigit():  # a recorded meeting's 编号 (登记会议 has no sign-in code)
        meeting = recorded_numbered(ctx.session, org, int(code))
    if meeting is None:
        raise UserError("还没有会议签到记录。发起签到请发送：发起签到 主题党日" if code is None
                        else f"没有签到码为 {clip(code)} 的会议。")
    summary = meeting_summary(ctx.session, meeting)
    tz = ctx.settings.tz
    recorded = recorded_meeting(meeting)
    if recorded:
        state = f"会后登记，编号 {meeting.id}"
    elif meeting.status == "closed" or meeting.signin_closes_at <= ctx.now:
        state = f"签到已于{show_hm(meeting.signin_closes_at, tz)}结束"
    elif ctx.now < meeting.signin_opens_at:
        state = f"签到{show_hm(meeting.signin_opens_at, tz)}开放，签到码 {meeting.code}"
    else:
        state = f"签到进行中，签到码 {meeting.code}，{show_hm(meeting.signin_closes_at, tz)}截止"
    lines = [f"【{label(meeting)}签到情况】{state}", *summary_lines(ctx, meeting, summary, with_times=not recorded)]
    if state.startswith("签到进行中"):
        lines.append("补登请发送“补签 姓名”或“请假 姓名 事由”；散会后发送「结束签到」。")
    return Reply(text="\n".join(lines), private=True)


def committee_or_upper(roles: RoleSet) -> bool:
    return roles.holds(*SECRETARY_ROLES, "上级管理员")


HANDLERS = (
    Handler(name="attendance_status", func=attendance_status, commands=("签到情况", "签到统计", "出勤情况"),
            allowed=committee_or_upper, roles_text=COMMITTEE + "或上级管理员", summary="查看本次签到：出席、迟到、请假、缺席和参与率",
            example="签到情况", section="支部委员"),
)
