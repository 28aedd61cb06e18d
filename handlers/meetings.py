"""安排: scheduling a meeting ahead, and the parsing shared with 发起签到 (kinds, title, place, invited branches).

A scheduled meeting keeps the date it was given (no holiday shifting: the secretary chose it) and its sign-in opens
30 minutes before the start.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.roles import is_committee
from handlers.common import managed_org
from storage.attendance import signed_in_count
from storage.meetings import OPENS_BEFORE, WINDOW, MeetingError, create_meeting, label, parse_kinds
from storage.models import Attendance, Meeting, MeetingInvitation, Organization
from storage.orgs import find_org
from storage.quoting import clip

COMMITTEE = "支部书记、副书记、组织委员"
WEEKDAY = "一二三四五六日"
PLACE_END = re.compile(r"(室|厅|楼|馆|基地|会场|礼堂|教室|广场|线上|视频会议|腾讯会议)$")
INVITE_PREFIX = ("邀请", "联合")
DATE_TIME = re.compile(
    r"(?:(?P<y>\d{4})[-/.年])?(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?"
    r"(?:\s*|T)(?P<ampm>上午|下午|晚上)?(?P<H>\d{1,2})(?:[:点时](?P<M>\d{1,2})?分?)?")


@dataclass
class Extras:
    title: str | None = None
    place: str | None = None
    invited: list[Organization] = field(default_factory=list)


def parse_extras(ctx: Context, tokens: list[str], host: Organization) -> Extras:
    """Title, place and invited organisations from the words after the kinds (and time).

    地点X / 在X / a word ending like a place (三楼会议室) is the place; 邀请X、Y / 联合X / an organisation's exact name
    invites it; anything else is the title."""
    out, title_parts, inviting, labelled = Extras(), [], False, ""
    for token in tokens:
        token = token.strip("，,；;")
        if token.rstrip(":：") in ("地点", "主题", "题目", "标题"):  # “主题 学习党章”: the label stands apart
            labelled = token.rstrip(":：")
            continue
        token, labelled = labelled + token, ""
        if token in INVITE_PREFIX:
            inviting = True
            continue
        prefixed = token.startswith(INVITE_PREFIX)
        names = [n for n in re.split(r"[、,，]", token[2:] if prefixed else token) if n]
        orgs = [find_org(ctx.session, n) for n in names]
        if (inviting or prefixed) and not all(orgs):
            missing = next(n for n, o in zip(names, orgs, strict=True) if o is None)
            raise UserError(f"没有找到党组织“{clip(missing)}”，请写它在名单中的全称。未做任何改动。")
        if orgs and all(orgs):
            out.invited.extend(o for o in orgs if o.id != host.id and o not in out.invited)
            inviting = False
            continue
        inviting = False
        if m := re.fullmatch(r"地点[:：]?(.+)", token):
            out.place = m.group(1)
        elif (m := re.fullmatch(r"在(.+)", token)) and PLACE_END.search(m.group(1)):
            out.place = m.group(1)
        elif m := re.fullmatch(r"(?:主题|题目|标题)[:：]?(.+)", token):
            title_parts.append(m.group(1))
        elif out.place is None and PLACE_END.search(token):
            out.place = token
        else:
            title_parts.append(token)
    if out.place and len(out.place) > 100:
        raise UserError("地点太长了，请控制在100字以内。")
    title = " ".join(title_parts) or None
    if title and len(title) > 100:
        raise UserError("会议主题太长了，请控制在100字以内。")
    out.title = title
    return out


def kinds_from(tokens: list[str], usage: str) -> list[str]:
    if not tokens:
        raise UserError(f"请写会议类型，例如：{usage}")
    try:
        return parse_kinds(tokens[0])
    except MeetingError as err:
        raise UserError(f"{err}。例如：{usage}") from None


def parse_start(text: str, now: datetime) -> tuple[datetime, str]:
    """The start in `text` (2026-12-18 14:30, 2026年12月18日14点, 12月18日 下午2:30) and the text around it."""
    m = DATE_TIME.search(text)
    if not m:
        raise UserError("请写开始日期和时间，例如：安排 主题党日 2026-12-18 14:30 三楼会议室")
    hour, minute = int(m["H"]), int(m["M"] or 0)
    if m["ampm"] in ("下午", "晚上") and hour < 12:
        hour += 12
    year = int(m["y"]) if m["y"] else now.year
    try:
        day = date(year, int(m["m"]), int(m["d"]))
        at = datetime.combine(day, time(hour, minute), tzinfo=now.tzinfo)
    except ValueError:
        raise UserError(f"“{clip(m.group(0))}”不是有效的日期时间，请写成 2026-12-18 14:30。") from None
    if not m["y"] and at <= now:
        at = at.replace(year=year + 1)  # 1月8日 written in December means next year
    if at <= now:
        raise UserError(f"{show_time(at)}已经过去了。要现在开会请发送：发起签到 主题党日")
    return at, (text[:m.start()] + " " + text[m.end():]).strip()


def show_time(at: datetime, tz=None) -> str:
    local = at.astimezone(tz) if tz else at
    return f"{local.month}月{local.day}日（周{WEEKDAY[local.weekday()]}）{local:%H:%M}"


def show_hm(at: datetime, tz) -> str:
    return at.astimezone(tz).strftime("%H:%M")


def describe_meeting(ctx: Context, meeting: Meeting) -> list[str]:
    tz = ctx.settings.tz
    lines = [f"会议：{label(meeting)}", f"时间：{show_time(meeting.starts_at, tz)}"]
    if meeting.place:
        lines.append(f"地点：{meeting.place}")
    if meeting.invitations:
        names = [ctx.session.get(Organization, i.organization_id).name for i in meeting.invitations]
        lines.append(f"联合参会：{'、'.join(names)}")
    return lines


def schedule(incoming: Incoming, ctx: Context) -> Reply:
    usage = "安排 主题党日 2026-12-18 14:30 三楼会议室"
    org = managed_org(ctx)
    tokens = ctx.args.split()
    kinds = kinds_from(tokens, usage)
    starts_at, rest = parse_start(" ".join(tokens[1:]), ctx.now)
    extras = parse_extras(ctx, rest.split(), org)
    same = ctx.session.scalars(select(Meeting).where(Meeting.organization_id == org.id, Meeting.starts_at == starts_at,
                                                     Meeting.status != "closed")).first()
    if same is not None and same.kinds == set(kinds):
        return Reply(text="\n".join(["这次会议已经安排过了：", *describe_meeting(ctx, same), f"签到码：{same.code}"]))
    ruled = made_from_rule(ctx, org, kinds, starts_at)
    if ruled is not None:
        return move_rule_meeting(ctx, ruled, starts_at, extras)
    try:
        meeting = create_meeting(ctx.session, org=org, kinds=kinds, starts_at=starts_at,
                                 opens_at=starts_at - OPENS_BEFORE, closes_at=starts_at + WINDOW, title=extras.title,
                                 place=extras.place, creator=ctx.member, invited=extras.invited, status="scheduled",
                                 now=ctx.now)
    except MeetingError as err:
        raise UserError(str(err)) from None
    ctx.audit("meeting.schedule", org.name, meeting_id=meeting.id, kinds=kinds, starts_at=starts_at.isoformat(),
              place=extras.place)
    tz = ctx.settings.tz
    return Reply(text="\n".join([
        f"已安排{org.name}的会议：", *describe_meeting(ctx, meeting),
        f"签到码：{meeting.code}（{show_time(meeting.signin_opens_at, tz)}起可签到，开始前30分钟开放）",
        f"请通知党员届时发送“签到 {meeting.code}”。不能参加的党员可提前发送“请假 {kinds[0]} 原因”。",
    ]))


def made_from_rule(ctx: Context, org: Organization, kinds: list[str], starts_at: datetime) -> Meeting | None:
    """The branch's 主题党日 that a 请假 made from the day rule on the same day (no creator, sign-in not opened yet):
    安排 gives it its real time and place instead of making a second meeting, and keeps the leave recorded on it."""
    tz = ctx.settings.tz
    day = datetime.combine(starts_at.astimezone(tz).date(), time(0), tzinfo=tz)
    for meeting in ctx.session.scalars(select(Meeting).where(
            Meeting.organization_id == org.id, Meeting.status == "scheduled", Meeting.created_by_id.is_(None),
            Meeting.starts_at >= day, Meeting.starts_at < day + timedelta(days=1))):
        if meeting.kinds == set(kinds) and meeting.signin_opens_at > ctx.now:
            return meeting
    return None


def move_rule_meeting(ctx: Context, meeting: Meeting, starts_at: datetime, extras: Extras) -> Reply:
    meeting.starts_at, meeting.signin_opens_at = starts_at, starts_at - OPENS_BEFORE
    meeting.signin_closes_at = starts_at + WINDOW
    meeting.place = extras.place or meeting.place
    meeting.title = extras.title or meeting.title
    meeting.created_by_id = ctx.member.id
    meeting.invitations = [MeetingInvitation(organization_id=o.id) for o in extras.invited]
    ctx.audit("meeting.schedule", meeting.organization.name, meeting_id=meeting.id, kinds=sorted(meeting.kinds),
              starts_at=starts_at.isoformat(), place=extras.place)
    leave = ctx.session.scalar(select(func.count()).select_from(Attendance).where(
        Attendance.meeting_id == meeting.id, Attendance.status == "leave"))
    tz = ctx.settings.tz
    return Reply(text="\n".join([
        f"已安排{meeting.organization.name}的会议（按支部规定日期的主题党日，已有 {leave} 人请假，保留不变）：",
        *describe_meeting(ctx, meeting),
        f"签到码：{meeting.code}（{show_time(meeting.signin_opens_at, tz)}起可签到，开始前30分钟开放）",
        f"请通知党员届时发送“签到 {meeting.code}”。",
    ]))


def cancel(incoming: Incoming, ctx: Context) -> Reply:
    """取消会议 4827: drop a meeting nobody has signed in to (a wrong date, a mistaken 发起签到)."""
    org = managed_org(ctx)
    code = ctx.args.strip()
    if not re.fullmatch(r"\d{4}", code):
        raise UserError("请写上要取消的会议的签到码，例如：取消会议 4827")
    meeting = ctx.session.scalars(select(Meeting).where(
        Meeting.organization_id == org.id, Meeting.code == code, Meeting.status != "closed")
        .order_by(Meeting.starts_at.desc())).first()
    if meeting is None:
        raise UserError(f"本支部没有签到码为 {clip(code)} 且未结束的会议。")
    signed = signed_in_count(ctx.session, meeting.id)
    if signed:
        raise UserError(f"已有 {signed} 人签到，不能取消；会议结束后请发送「结束签到」。")
    what = f"{label(meeting)}（{show_time(meeting.starts_at, ctx.settings.tz)}）"
    ctx.audit("meeting.cancel", org.name, meeting_id=meeting.id, kinds=sorted(meeting.kinds),
              starts_at=meeting.starts_at.isoformat())
    ctx.session.delete(meeting)
    return Reply(text=f"已取消{what}，签到码 {code} 作废。")


HANDLERS = (
    Handler(name="meeting_schedule", func=schedule, commands=("安排",), allowed=is_committee, roles_text=COMMITTEE,
            summary="提前安排会议（开始前30分钟开放签到）", example="安排 主题党日 12月18日 14:30 三楼会议室",
            section="支部委员"),
    Handler(name="meeting_cancel", func=cancel, commands=("取消会议", "取消签到"), allowed=is_committee,
            roles_text=COMMITTEE, summary="取消还没人签到的会议", example="取消会议 4827", section="支部委员"),
)
