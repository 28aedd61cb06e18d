"""请假 and 补签.

A member asks for leave before a meeting (`请假 主题党日 出差`, or by its day: `我明天请假，要去医院`,
`下周五主题党日请假 孩子生病`): it counts as approved unless the secretary refuses it (`不准假 张伟`), and the
secretary is told at once. Several meetings that day are asked back as a numbered choice. The branch's regular
主题党日 needs no 安排 first: the meeting is made from the day rule (handlers/theme_day_meeting.py). After (or during) the window the secretary records by hand:
`补签 张三` (a late arrival) and `请假 李四 出差`. Names shared by several members are asked back as a numbered choice.
"""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.roles import is_committee
from handlers.common import managed_org
from handlers.day_words import FUTURE, DayError, find_day, has_day
from handlers.meetings import COMMITTEE, show_hm, show_time
from handlers.people import chosen_member, members_named, pick_from, pick_member, push_to, secretaries_of
from handlers.theme_day_meeting import THEME, ensure_rule_meeting, next_rule_day, rule_day_on, rule_start
from storage import attendance as att
from storage.meetings import (
    KIND_ALIASES,
    current_meeting,
    is_kinds_token,
    label,
    next_hosted,
    parse_kinds,
    scope_org_ids,
    upcoming_for_member,
)
from storage.models import MEETING_KINDS, Attendance, Meeting, Member, Organization
from storage.org_settings import get_setting
from storage.orgs import branch_of, descendants
from storage.quoting import clip

CODE_TOKEN = re.compile(r"\d{4}")
CLOCK_TOKEN = re.compile(r"\d{1,2}:\d{2}")
PENDING_MANUAL = "attendance.manual"
PENDING_REFUSE = "leave.refuse"
PENDING_DAY = "leave.day"
LEAVE_WORD = re.compile(r"请(?:个|一下|一天|半天)?假")
QUESTION = re.compile(r"怎么|如何|吗|么|[？?]")
_KIND_WORD = "|".join(sorted((*MEETING_KINDS, *KIND_ALIASES), key=len, reverse=True))
KIND_WORDS = re.compile(rf"(?:{_KIND_WORD})(?:[+＋](?:{_KIND_WORD}))*")
# what is left of “明天的会我请个假” once the day and the request are taken out: not a reason
FILLER = re.compile(r"^(?:[\s，,。.、:：!！]|我|的|会议|会|开会|那天|当天|也|想)+|[\s，,。.、!！]+$")
ON_TIME_WORDS = ("按时", "出席", "准时")


def split_code(ctx: Context) -> tuple[list[str], str | None]:
    """The words of the command, and a 4-digit meeting code if one was given among them."""
    tokens, code = [], None
    for token in ctx.args.split():
        if CODE_TOKEN.fullmatch(token) and code is None:
            code = token
        else:
            tokens.append(token)
    return tokens, code


def meeting_for_manual(ctx: Context, code: str | None) -> Meeting:
    org = managed_org(ctx)
    meeting = current_meeting(ctx.session, org, ctx.now, code=code)
    if meeting is None or ctx.now < meeting.signin_opens_at:
        raise UserError("没有可以登记的会议（签到开放后才能补签或登记请假）。" if code is None
                        else f"没有签到码为 {clip(code)} 且已开始签到的会议。")
    return meeting


# 请假 ---------------------------------------------------------------------------------------------------------
def leave(incoming: Incoming, ctx: Context) -> Reply:
    tokens, code = split_code(ctx)
    if not tokens and code is None:
        raise UserError("请写成：请假 主题党日 事由，例如“请假 主题党日 出差”。"
                        "书记登记他人请假请写：请假 李四 出差")
    if tokens and not is_kinds_token(tokens[0]) and is_committee(ctx.roles):
        meeting = _meeting_if_named(ctx, tokens[0], code)
        if meeting is not None:
            note = " ".join(tokens[1:]) or None
            payload = {"meeting_id": meeting.id, "status": att.LEAVE, "note": note}
            picked = pick_member(ctx, tokens[0], scope_org_ids(ctx.session, meeting), kind=PENDING_MANUAL,
                                 payload=payload, action="登记请假")
            return picked if isinstance(picked, Reply) else record_by_hand(ctx, meeting, picked, payload)
    try:
        found = find_day(ctx.args, ctx.today, FUTURE)
    except DayError as err:
        raise UserError(str(err)) from None
    if found is not None:
        return leave_on_day(ctx, found.day, found.rest, code)
    return request_leave(ctx, tokens, code)


def is_leave_for_a_day(text: str, _words: list[str]) -> bool:
    """“我明天请假，要去医院”, “下周五主题党日请假”: a request naming its day (a question about leave is not one)."""
    return LEAVE_WORD.search(text) is not None and has_day(text) and QUESTION.search(text) is None


def _meeting_if_named(ctx: Context, name: str, code: str | None) -> Meeting | None:
    """The meeting a secretary's `请假 李四 …` is about when `李四` is someone due there: the current one (after its
    sign-in opened), else the next one the branch holds. None means the words are the secretary's own reason."""
    org = managed_org(ctx)
    meeting = current_meeting(ctx.session, org, ctx.now, code=code)
    if meeting is None or (code is None and ctx.now < meeting.signin_opens_at):
        meeting = next_hosted(ctx.session, org, ctx.now) if code is None else None
    scope = scope_org_ids(ctx.session, meeting) if meeting else {org.id, *(o.id for o in descendants(ctx.session, org))}
    if not members_named(ctx, name, scope):
        return None
    if code is None and not (meeting is not None and ctx.now >= meeting.signin_opens_at):
        meeting = with_rule_day(ctx, org, meeting)
    if meeting is None:
        raise UserError(f"近期没有可以为{clip(name)}登记请假的会议，本支部的主题党日也还没到安排的时候。"
                        "请先“安排”会议，再登记请假。")
    return meeting


def with_rule_day(ctx: Context, org: Organization, first: Meeting | None) -> Meeting | None:
    """`first` (the next meeting found), or the branch's coming 主题党日 by its rule when that comes sooner (made
    into a meeting row then, so the leave has somewhere to go)."""
    branch = branch_of(org)
    day = next_rule_day(ctx, branch)
    if day is None or (first is not None and first.starts_at <= rule_start(ctx, day, branch)):
        return first
    return ensure_rule_meeting(ctx, branch, day)


def request_leave(ctx: Context, tokens: list[str], code: str | None = None) -> Reply:
    kinds = parse_kinds(tokens[0]) if tokens and is_kinds_token(tokens[0]) else None
    reason = " ".join(tokens[1:] if kinds else tokens).strip()
    if not reason:
        raise UserError("请写上请假事由，例如：请假 主题党日 出差")
    if len(reason) > 100:
        raise UserError("请假事由请控制在100字以内。")
    upcoming = [m for m in upcoming_for_member(ctx.session, ctx.member, ctx.now, kinds) if code in (None, m.code)]
    if code is None and (kinds is None or THEME in kinds):
        ruled = with_rule_day(ctx, ctx.member.organization, upcoming[0] if upcoming else None)
        upcoming = [ruled] if ruled is not None else upcoming
    if not upcoming:
        what = "+".join(kinds) if kinds else "会议"
        raise UserError(f"近期没有安排需要你参加的{what}。会议已开始的，请直接联系书记登记请假。")
    return grant_leave(ctx, upcoming[0], reason)


def leave_on_day(ctx: Context, day, text: str, code: str | None) -> Reply:
    """Leave for the meeting(s) on one day: the one there is, a numbered choice among several, or a clear “none”."""
    from reminders.rules import cn

    tz = ctx.settings.tz
    if day < ctx.today:
        raise UserError(f"{cn(day)}已经过去了，不能再请假。当天确有事缺席的，请联系书记登记。")
    kinds_match = KIND_WORDS.search(text)
    kinds = parse_kinds(kinds_match.group(0)) if kinds_match else None
    if kinds_match:
        text = text[:kinds_match.start()] + " " + text[kinds_match.end():]
    reason = " ".join(FILLER.sub("", LEAVE_WORD.sub(" ", text)).split()) or None
    if reason and len(reason) > 100:
        raise UserError("请假事由请控制在100字以内。")
    start = datetime.combine(day, time(0), tzinfo=tz)
    found = [m for m in upcoming_for_member(ctx.session, ctx.member, ctx.now, kinds)
             if start <= m.starts_at < start + timedelta(days=1) and code in (None, m.code)]
    branch = branch_of(ctx.member.organization)
    if (code is None and (kinds is None or THEME in kinds) and not any(THEME in m.kinds for m in found)
            and rule_day_on(ctx, branch, day) and rule_start(ctx, day, branch) > ctx.now):
        found = sorted([*found, ensure_rule_meeting(ctx, branch, day)], key=lambda m: m.starts_at)
    if not found:
        what = "+".join(kinds) if kinds else "会议"
        hint = ""
        following = upcoming_for_member(ctx.session, ctx.member, ctx.now, kinds)
        ruled = next_rule_day(ctx, branch) if kinds is None or THEME in kinds else None
        if following and (ruled is None or following[0].starts_at <= rule_start(ctx, ruled, branch)):
            when = following[0].starts_at.astimezone(tz).date()
            hint = (f"你接下来的会议是{label(following[0])}（{show_time(following[0].starts_at, tz)}），"
                    f"如要请假请发送“请假 {when.month}月{when.day}日 事由”。")
        elif ruled is not None:
            hint = f"本支部下次主题党日是{cn(ruled)}，如要请假请发送“请假 {ruled.month}月{ruled.day}日 事由”。"
        raise UserError(f"{cn(day)}没有需要你参加、还没开始的{what}。{hint}")
    if len(found) == 1:
        return grant_leave(ctx, found[0], reason)
    ctx.set_pending(PENDING_DAY, {"meetings": [m.id for m in found], "reason": reason})
    lines = [f"{cn(day)}有 {len(found)} 个会议，请假的是哪一个？请回复序号："]
    lines += [f"{i}. {label(m)}（{show_time(m.starts_at, tz)}）" for i, m in enumerate(found, start=1)]
    return Reply(text="\n".join(lines))


def resolve_day(incoming: Incoming, ctx: Context, payload: dict[str, Any]) -> Reply:
    ids, choice = payload.get("meetings", []), payload.get("choice", 0)
    if not 1 <= choice <= len(ids):
        raise UserError(f"请回复 1 到 {len(ids)} 之间的序号。")
    meeting = ctx.session.get(Meeting, ids[choice - 1])
    if meeting is None or meeting.starts_at <= ctx.now:
        raise UserError("这个会议已取消或已开始，请重新发送请假。")
    return grant_leave(ctx, meeting, payload.get("reason"))


def grant_leave(ctx: Context, meeting: Meeting, reason: str | None) -> Reply:
    """Record the asker's leave (approved unless the secretary refuses it) and tell the branch's secretaries."""
    tz = ctx.settings.tz
    when = f"{label(meeting)}（{show_time(meeting.starts_at, tz)}）"
    inserted = att.insert_once(ctx.session, meeting_id=meeting.id, member_id=ctx.member.id, status=att.LEAVE,
                               at=ctx.now, via="manual", note=reason, recorded_by_id=ctx.member.id)
    if not inserted:
        row = att.row_for(ctx.session, meeting.id, ctx.member.id)
        if row.status in (att.PRESENT, att.LATE):
            raise UserError(f"你已于{show_hm(row.at, tz)}签到{label(meeting)}，不能再请假。")
        if row.status == att.ABSENT:
            raise UserError(f"书记未批准你{when}的请假，请按时参加。如有特殊情况请直接联系书记。")
        row.note, row.at = reason, ctx.now
    for secretary in secretaries_of(ctx, meeting.organization):
        if secretary.id == ctx.member.id:
            continue
        push_to(ctx, secretary, Reply(text=(
            f"{ctx.member.name}（{ctx.member.organization.name}）请假：{when}，事由：{reason or '未写'}。\n"
            f"已按准假登记；如不同意，请发送“不准假 {ctx.member.name}”。")),
            f"leave_request:{meeting.id}:{ctx.member.id}:{ctx.now.isoformat()}")
    verb = "已向书记请假" if inserted else "已更新请假事由"
    said = f"事由：{reason}" if reason else "未写事由（可再发一次带上事由）"
    return Reply(text=f"{verb}：{when}，{said}。书记不同意时会通知你；如能参加，到时照常签到即可。")


# 补签 / 书记登记请假 ----------------------------------------------------------------------------------------------
def make_up(incoming: Incoming, ctx: Context) -> Reply:
    tokens, code = split_code(ctx)
    on_time = any(t in ON_TIME_WORDS for t in tokens)
    arrived = next((t for t in tokens if CLOCK_TOKEN.fullmatch(t)), None)
    tokens = [t for t in tokens if t not in ON_TIME_WORDS and t != arrived]
    if not tokens:
        raise UserError("请写成：补签 张三（记为迟到），可加到会时间“补签 张三 14:20”，按时到会的写“补签 张三 按时”")
    meeting = meeting_for_manual(ctx, code)
    at = arrival(ctx, meeting, arrived) if arrived else None
    if on_time:
        status = att.PRESENT
    elif at is not None:
        status = att.status_for(meeting, at, get_setting(meeting.organization, "late_after_minutes"))
    else:
        status = att.LATE
    payload = {"meeting_id": meeting.id, "status": status, "note": None, "at": at.isoformat() if at else None}
    picked = pick_member(ctx, tokens[0], scope_org_ids(ctx.session, meeting), kind=PENDING_MANUAL,
                         payload=payload, action="补签")
    return picked if isinstance(picked, Reply) else record_by_hand(ctx, meeting, picked, payload)


def arrival(ctx: Context, meeting: Meeting, hhmm: str) -> datetime:
    """`14:20` on the meeting's day; it must fall between the start and now."""
    tz = ctx.settings.tz
    hour, minute = (int(p) for p in hhmm.split(":"))
    try:
        at = datetime.combine(meeting.starts_at.astimezone(tz).date(), time(hour, minute), tzinfo=tz)
    except ValueError:
        raise UserError(f"“{clip(hhmm)}”不是有效的时间，请写成 14:20。") from None
    if not meeting.signin_opens_at <= at <= ctx.now:
        raise UserError(f"到会时间须在{show_hm(meeting.signin_opens_at, tz)}到现在之间。")
    return at


def record_by_hand(ctx: Context, meeting: Meeting, member: Member, payload: dict[str, Any]) -> Reply:
    """Write the secretary's 补签 (present/late) or 请假 for one member; audited."""
    tz = ctx.settings.tz
    status, note = payload["status"], payload.get("note")
    if payload.get("at"):
        at = datetime.fromisoformat(payload["at"])
    else:
        at = max(ctx.now, meeting.starts_at) if status == att.LEAVE else ctx.now
    if not att.insert_once(ctx.session, meeting_id=meeting.id, member_id=member.id, status=status, at=at,
                           via="manual", note=note, recorded_by_id=ctx.member.id):
        row = att.row_for(ctx.session, meeting.id, member.id)
        if row.status in (att.PRESENT, att.LATE):
            verb = "补签" if status != att.LEAVE else "登记请假"
            raise UserError(f"{member.name}已于{show_hm(row.at, tz)}签到{label(meeting)}，无需{verb}。")
        row.status, row.at, row.via, row.note, row.recorded_by_id = status, at, "manual", note, ctx.member.id
    ctx.audit("attendance.manual", member.name, meeting_id=meeting.id, member_id=member.id, status=status, note=note)
    what = {att.PRESENT: "补签（按时出席）", att.LATE: "补签（迟到）", att.LEAVE: "请假"}[status]
    when = f"，到会 {show_hm(at, tz)}" if payload.get("at") else ""
    return Reply(text=f"已为{member.name}登记{what}：{label(meeting)}（{show_time(meeting.starts_at, tz)}）{when}"
                      + (f"，事由：{note}" if note else "") + "。发送「签到情况」查看全部。")


def resolve_manual(incoming: Incoming, ctx: Context, payload: dict[str, Any]) -> Reply:
    member = chosen_member(ctx, payload)
    meeting = ctx.session.get(Meeting, payload["meeting_id"])
    if meeting is None:
        raise UserError("这次会议已不存在，请重新发送命令。")
    return record_by_hand(ctx, meeting, member, payload)


# 不准假 -------------------------------------------------------------------------------------------------------
def refuse(incoming: Incoming, ctx: Context) -> Reply:
    tokens = ctx.args.split(maxsplit=1)
    if not tokens:
        raise UserError("请写成：不准假 张伟（可加理由，如“不准假 张伟 本次为党员大会须到会”）")
    org = managed_org(ctx)
    found = list(ctx.session.scalars(select(Member).join(Attendance, Attendance.member_id == Member.id)
                                     .join(Meeting, Meeting.id == Attendance.meeting_id).where(
        Meeting.organization_id == org.id, Meeting.status != "closed", Meeting.signin_closes_at > ctx.now,
        Attendance.status == att.LEAVE, Member.name == tokens[0]).distinct().order_by(Member.id)))
    if not found:
        raise UserError(f"没有找到{clip(tokens[0])}待处理的请假。发送「签到情况」可查看请假名单。")
    payload = {"reason": tokens[1] if len(tokens) > 1 else None}
    picked = pick_from(ctx, tokens[0], found, kind=PENDING_REFUSE, payload=payload, action="不准假")
    return picked if isinstance(picked, Reply) else refuse_for(ctx, picked, payload)


def refuse_for(ctx: Context, member: Member, payload: dict[str, Any]) -> Reply:
    tz = ctx.settings.tz
    org = managed_org(ctx)
    row, meeting = ctx.session.execute(select(Attendance, Meeting).join(Meeting, Meeting.id == Attendance.meeting_id)
                                       .where(Meeting.organization_id == org.id, Meeting.status != "closed",
                                              Meeting.signin_closes_at > ctx.now, Attendance.status == att.LEAVE,
                                              Attendance.member_id == member.id)
                                       .order_by(Meeting.starts_at)).first() or (None, None)
    if row is None:
        raise UserError(f"{member.name}没有待处理的请假。")
    reason = payload.get("reason")
    row.status = att.ABSENT
    row.note = f"请假未获批准（原事由：{row.note or '未写'}）" + (f"：{reason}" if reason else "")
    row.recorded_by_id = ctx.member.id
    ctx.audit("leave.refuse", member.name, meeting_id=meeting.id, member_id=member.id, reason=reason)
    when = f"{label(meeting)}（{show_time(meeting.starts_at, tz)}）"
    push_to(ctx, member, Reply(text=f"你申请的{when}请假未获批准" + (f"：{reason}" if reason else "")
                               + "。请按时参加，到时发送“签到 签到码”。"), f"leave_refused:{meeting.id}:{member.id}")
    return Reply(text=f"已不准{member.name}的请假：{when}，并已通知本人。")


def resolve_refuse(incoming: Incoming, ctx: Context, payload: dict[str, Any]) -> Reply:
    return refuse_for(ctx, chosen_member(ctx, payload), payload)


HANDLERS = (
    Handler(name="leave_refuse", func=refuse, commands=("不准假", "驳回请假", "不批准请假"), allowed=is_committee,
            roles_text=COMMITTEE, summary="不批准党员的请假", example="不准假 张伟", section="支部委员"),
    Handler(name="attendance_make_up", func=make_up, commands=("补签",), allowed=is_committee, roles_text=COMMITTEE,
            summary="为党员补签（记为迟到）；代登记请假发送“请假 张伟 出差”", example="补签 张伟", section="支部委员"),
    Handler(name="leave", func=leave, commands=("请假",), match=is_leave_for_a_day, summary="会前向书记请假",
            example="请假 主题党日 出差（或“我明天请假，要去医院”）"),
)

PENDING = {PENDING_MANUAL: resolve_manual, PENDING_REFUSE: resolve_refuse, PENDING_DAY: resolve_day}
