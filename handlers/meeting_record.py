"""登记会议 / 修改会议 / 删除会议: a meeting recorded after the fact, without a sign-in.

`登记会议 支委会 2026-12-03 研究发展对象 缺席 张三` writes an ordinary closed meeting with one attendance row per
member due (出席, 缺席 or 请假, entered by the secretary), so it counts wherever a held meeting counts: the reminders
and the 党委's overview (which read the meetings), 签到情况, 本月安排 and the ledger. It has no sign-in code; its
编号 (the row's id) is what 修改会议 and 删除会议 take. Only such a meeting can be changed or deleted this way:
a meeting with a sign-in keeps its record (补签, 请假 and 不准假 change it).

With no attendance written, everyone due is recorded present, and the reply says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import delete, select

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.roles import is_committee
from handlers.checkin import summary_lines
from handlers.common import managed_org
from handlers.day_words import PAST, DayError, find_day
from handlers.meetings import COMMITTEE, Extras, parse_extras
from handlers.people import members_named
from storage import attendance as att
from storage.meetings import (
    Audience,
    audience,
    due_members,
    is_kinds_token,
    kinds_text,
    label,
    meeting_summary,
    parse_kinds,
    recorded_meeting,
    recorded_numbered,
    same_day_meetings,
    scope_org_ids,
)
from storage.models import Attendance, Meeting, MeetingInvitation, MeetingKind, Member, Organization
from storage.quoting import clip

USAGE = "登记会议 支委会 2026-12-03 研究发展对象（可加“缺席 张三、李四”或“参加 张三、李四”）"
DEFAULT_START = time(9, 0)  # the hour kept for a meeting recorded without one
CLOCK = re.compile(r"(?<![\d.])(\d{1,2})[:：](\d{2})(?!\d)")
# 参加/缺席/请假 start the lists of names: everything after the first of them is names, never the title
LISTS = re.compile(r"(?:^|\s)(参加人?|参会人?|出席|缺席|请假)[:：]?")
ALL = re.compile(r"(?:^|\s)全体(?:出席|参加|党员)?(?=\s|$)")
NAME_SPLIT = re.compile(r"[、,，;；\s]+")
CONFIRM = re.compile(r"(?:^|\s)确认(?=\s|$)")
PRESENT_WORDS = {"参加": att.PRESENT, "参加人": att.PRESENT, "参会": att.PRESENT, "参会人": att.PRESENT,
                 "出席": att.PRESENT, "缺席": att.ABSENT, "请假": att.LEAVE}


@dataclass
class Roll:
    """Who attended, as written: `only` lists the only ones present (参加 …), the others are exceptions."""

    only: list[str] | None = None
    absent: list[str] = field(default_factory=list)
    leave: list[str] = field(default_factory=list)
    everyone: bool = False

    @property
    def given(self) -> bool:
        return self.everyone or self.only is not None or bool(self.absent or self.leave)


@dataclass
class Parsed:
    kinds: list[str] | None
    day: date | None
    at: time | None
    extras: Extras
    roll: Roll
    confirmed: bool


def parse(ctx: Context, text: str, org: Organization, kinds_required: bool) -> Parsed:
    text, confirmed = CONFIRM.sub(" ", text), CONFIRM.search(text) is not None
    roll, text = _roll(text)
    tokens = text.split()
    kinds = None
    if tokens and is_kinds_token(tokens[0]):
        kinds, text = parse_kinds(tokens[0]), " ".join(tokens[1:])
    elif kinds_required:
        hint = f"“{clip(tokens[0])}”不是会议类型。" if tokens else ""
        raise UserError(f"{hint}请写成：{USAGE}")
    try:
        found = find_day(text, ctx.today, PAST)
    except DayError as err:
        raise UserError(str(err)) from None
    day = found.day if found else None
    if found:
        text = found.rest
    at = None
    if m := CLOCK.search(text):
        try:
            at = time(int(m.group(1)), int(m.group(2)))
        except ValueError:
            raise UserError(f"“{clip(m.group(0))}”不是有效的时间，请写成 14:30。") from None
        text = text[:m.start()] + " " + text[m.end():]
    return Parsed(kinds, day, at, parse_extras(ctx, text.split(), org), roll, confirmed)


def _roll(text: str) -> tuple[Roll, str]:
    roll = Roll(everyone=ALL.search(text) is not None)
    text = ALL.sub(" ", text)
    parts = LISTS.split(text)
    for word, names in zip(parts[1::2], parts[2::2], strict=True):
        listed = [n for n in NAME_SPLIT.split(names) if n]
        if not listed:
            raise UserError(f"“{word}”后面请写姓名，例如“{word} 张三、李四”。")
        status = PRESENT_WORDS[word]
        if status == att.PRESENT:
            roll.only = [*(roll.only or []), *listed]
        else:
            (roll.absent if status == att.ABSENT else roll.leave).extend(listed)
    return roll, parts[0]


def starts(ctx: Context, day: date, at: time | None, usual: time = DEFAULT_START) -> datetime:
    """The start on `day` (at `at`, else at `usual`); a day or time still to come is refused."""
    from reminders.rules import cn

    when = datetime.combine(day, at or usual, tzinfo=ctx.settings.tz)
    if when > ctx.now:
        if at is not None or day > ctx.today:
            raise UserError(f"{cn(day)}{at.strftime('%H:%M') if at else ''}还没到，不能登记为已召开的会议。"
                            "提前安排请发送：安排 主题党日 2026-12-18 14:30 三楼会议室")
        when = ctx.now  # today, recorded before the default hour: it was held this morning
    return when


def check_clash(ctx: Context, org: Organization, kinds: list[str], when: datetime, confirmed: bool,
                itself: Meeting | None = None) -> None:
    """Refuse a second meeting of the same kind on the same day unless the secretary confirms it is another one."""
    from reminders.rules import cn

    tz = ctx.settings.tz
    for other in same_day_meetings(ctx.session, org, when, tz):
        if other is itself or not other.kinds & set(kinds) or other.status == "scheduled":
            continue
        if confirmed:
            return
        ref = f"编号 {other.id}" if recorded_meeting(other) else f"签到码 {other.code}"
        fix = (f"要改它请发送“修改会议 {other.id} …”；" if recorded_meeting(other) else "")
        raise UserError(f"{cn(when.astimezone(tz).date())}已有{label(other)}的记录（{ref}）。{fix}"
                        "确是同一天另开的一次，请在原命令末尾加“确认”再发。")


# 登记会议 ------------------------------------------------------------------------------------------------------
def record(incoming: Incoming, ctx: Context) -> Reply:
    org = managed_org(ctx)
    p = parse(ctx, ctx.args, org, kinds_required=True)
    if p.day is None:
        raise UserError(f"请写会议日期（如 2026-12-03、12月3日、昨天、上周五）。例如：{USAGE}")
    when = starts(ctx, p.day, p.at)
    check_clash(ctx, org, p.kinds, when, p.confirmed)
    planned = next((m for m in same_day_meetings(ctx.session, org, when, ctx.settings.tz)
                    if m.status == "scheduled" and m.kinds == set(p.kinds)), None)
    if planned is not None:  # an 安排 whose sign-in never opened: it was held, record it (its leave stays)
        meeting = planned
        meeting.title = p.extras.title or meeting.title
        meeting.place = p.extras.place or meeting.place
        meeting.starts_at = when if p.at else min(meeting.starts_at, ctx.now)  # held: not later than now
    else:
        meeting = Meeting(organization_id=org.id, title=p.extras.title or "+".join(p.kinds), starts_at=when,
                          place=p.extras.place, signin_opens_at=when, signin_closes_at=when, code=None,
                          created_by_id=ctx.member.id, created_at=ctx.now)
        meeting.kind_rows = [MeetingKind(kind=k) for k in p.kinds]
        meeting.invitations = [MeetingInvitation(organization_id=o.id) for o in p.extras.invited]
        ctx.session.add(meeting)
    as_recorded(meeting)
    ctx.session.flush()
    write_roll(ctx, meeting, p.roll, keep_leave=planned is not None)
    ctx.audit("meeting.record", org.name, meeting_id=meeting.id, kinds=p.kinds, day=p.day.isoformat())
    return Reply(text="\n".join([f"已登记{org.name}已召开的会议，编号 {meeting.id}。",
                                 *result_lines(ctx, meeting, p.roll)]), private=True)


def as_recorded(meeting: Meeting) -> None:
    """Closed, without a sign-in code (what marks a recorded meeting), its sign-in window empty at its start."""
    meeting.status, meeting.code = "closed", None
    meeting.signin_opens_at = meeting.signin_closes_at = meeting.starts_at


def write_roll(ctx: Context, meeting: Meeting, roll: Roll, keep_leave: bool = False) -> None:
    """One row per member due by the meeting's kinds (全体 means them: a 支委会's 委员, not the whole branch): present
    unless written otherwise (参加 … makes everyone else absent). A row of a member in the branch whom the kinds no
    longer call (the type was changed) goes; one of a member who has left since stays."""
    found = audience(ctx.session, meeting)
    due = due_members(ctx.session, meeting, found)
    status: dict[int, str] = {}
    named_present = {m.id for m in _resolve(ctx, meeting, due, found, roll.only or [])}
    for m in due:
        status[m.id] = att.PRESENT if roll.only is None or m.id in named_present else att.ABSENT
    rows = att.rows_by_member(ctx.session, meeting.id)
    if keep_leave and not roll.given:
        status.update({mid: att.LEAVE for mid, r in rows.items() if r.status == att.LEAVE and mid in status})
    for m in _resolve(ctx, meeting, due, found, roll.absent):
        status[m.id] = att.ABSENT
    for m in _resolve(ctx, meeting, due, found, roll.leave):
        status[m.id] = att.LEAVE
    scope = scope_org_ids(ctx.session, meeting)
    for member_id in set(rows) - set(status):
        if still_in(ctx, member_id, scope):
            ctx.session.delete(rows.pop(member_id))
    for member_id, st in status.items():
        row = rows.get(member_id)
        if row is None:
            ctx.session.add(Attendance(meeting_id=meeting.id, member_id=member_id, status=st, at=meeting.starts_at,
                                       via="manual", recorded_by_id=ctx.member.id))
        elif row.status != st or row.at != meeting.starts_at:
            if row.status != st:
                row.note = None
            row.status, row.at, row.via, row.recorded_by_id = st, meeting.starts_at, "manual", ctx.member.id


def still_in(ctx: Context, member_id: int, org_ids: set[int]) -> bool:
    member = ctx.session.get(Member, member_id)
    return member is not None and member.status == "active" and member.organization_id in org_ids


def _resolve(ctx: Context, meeting: Meeting, due: list[Member], found: Audience, names: list[str]) -> list[Member]:
    if not names:
        return []
    scope = scope_org_ids(ctx.session, meeting) | {m.organization_id for m in due}
    due_ids = {m.id for m in due}
    out = []
    for name in names:
        named = members_named(ctx, name, scope)
        if not named:
            raise UserError(f"参会范围内没有名为“{clip(name)}”的党员，请核对姓名（发送「党员名单」可查看）。未做任何改动。")
        if len(named) > 1:
            raise UserError(f"有 {len(named)} 位党员名叫“{clip(name)}”，无法分辨。请联系管理员在名单中区分。未做任何改动。")
        if named[0].id not in due_ids:
            raise UserError(f"{named[0].name}不是这次{label(meeting)}的参会人员：{kinds_text(meeting)}只有"
                            f"{found.text}参加。未做任何改动。")
        out.append(named[0])
    return out


def result_lines(ctx: Context, meeting: Meeting, roll: Roll) -> list[str]:
    summary = meeting_summary(ctx.session, meeting)
    lines = [line for line in summary_lines(ctx, meeting, summary) if not line.startswith("迟到：")]
    if not roll.given:
        lines.append(f"未写参会情况，已按{summary.audience}全体出席登记；有缺席的请发送“修改会议 "
                     f"{meeting.id} 缺席 张三、李四”。")
    lines.append(f"修改请发送“修改会议 {meeting.id} …”（可改类型、日期、主题、参会情况），"
                 f"登记错了请发送“删除会议 {meeting.id}”。")
    return lines


# 修改会议 / 删除会议 ----------------------------------------------------------------------------------------------
NUMBER = re.compile(r"\s*(?:编号)?\s*(\d{1,9})(?:号)?(?=\s|$)")


def recorded_by_number(ctx: Context, usage: str) -> tuple[Meeting, str]:
    org = managed_org(ctx)
    m = NUMBER.match(ctx.args)
    if m is None:
        raise UserError(f"请写上登记时回复的会议编号，例如：{usage}")
    meeting = recorded_numbered(ctx.session, org, int(m.group(1)))
    if meeting is None:
        raise UserError(f"{org.name}没有编号为 {clip(m.group(1))} 的登记会议。只能修改或删除用“登记会议”补录的会议；"
                        "签到的会议请用“补签”“请假”更正，还没开的会请用“取消会议 签到码”。")
    return meeting, ctx.args[m.end():].strip()


def amend(incoming: Incoming, ctx: Context) -> Reply:
    usage = "修改会议 12 缺席 张三（也可改类型、日期、主题：修改会议 12 支委会+党课 12月3日）"
    meeting, rest = recorded_by_number(ctx, usage)
    org = meeting.organization
    p = parse(ctx, rest, org, kinds_required=False)
    if p.kinds is None and p.day is None and p.at is None and not p.roll.given and p.extras == Extras():
        raise UserError(f"请写要改的内容，例如：{usage}")
    kinds = p.kinds or sorted(meeting.kinds)
    retyped = p.kinds is not None and set(p.kinds) != meeting.kinds
    if p.day is not None or p.at is not None:
        local = meeting.starts_at.astimezone(ctx.settings.tz)
        meeting.starts_at = starts(ctx, p.day or local.date(), p.at, usual=local.time())
    check_clash(ctx, org, kinds, meeting.starts_at, p.confirmed, itself=meeting)
    if retyped:
        was = kinds_text(meeting)
        meeting.kind_rows = [MeetingKind(kind=k) for k in p.kinds]
        if meeting.title == was:
            meeting.title = "+".join(p.kinds)
    meeting.title = p.extras.title or meeting.title
    meeting.place = p.extras.place or meeting.place
    if p.extras.invited:
        meeting.invitations = [MeetingInvitation(organization_id=o.id) for o in p.extras.invited]
    as_recorded(meeting)
    ctx.session.flush()
    if p.roll.given or p.day is not None or p.at is not None or retyped:  # a new type may call others
        write_roll(ctx, meeting, p.roll if p.roll.given else kept_roll(ctx, meeting))
    ctx.audit("meeting.amend", org.name, meeting_id=meeting.id, kinds=kinds, text=rest[:200])
    return Reply(text="\n".join([f"已修改编号 {meeting.id} 的会议。", *result_lines(ctx, meeting, Roll(everyone=True))]),
                 private=True)


def kept_roll(ctx: Context, meeting: Meeting) -> Roll:
    """The attendance as it stands, to rewrite at a new date or type (who was absent or on leave stays so, if the
    meeting's kinds still call them)."""
    rows = att.rows_by_member(ctx.session, meeting.id)
    due = {m.id for m in due_members(ctx.session, meeting)}
    names = {m.id: m.name for m in ctx.session.scalars(select(Member).where(Member.id.in_(rows)))}
    return Roll(absent=[names[i] for i, r in rows.items() if r.status == att.ABSENT and i in due],
                leave=[names[i] for i, r in rows.items() if r.status == att.LEAVE and i in due], everyone=True)


def remove(incoming: Incoming, ctx: Context) -> Reply:
    from reminders.rules import cn

    meeting, _ = recorded_by_number(ctx, "删除会议 12")
    what = f"{label(meeting)}（{cn(meeting.starts_at.astimezone(ctx.settings.tz).date())}）"
    ctx.audit("meeting.delete", meeting.organization.name, meeting_id=meeting.id, kinds=sorted(meeting.kinds),
              starts_at=meeting.starts_at.isoformat())
    ctx.session.execute(delete(Attendance).where(Attendance.meeting_id == meeting.id))
    ctx.session.delete(meeting)
    return Reply(text=f"已删除编号 {meeting.id} 的登记会议：{what}及其参会记录。")


HANDLERS = (
    Handler(name="meeting_record", func=record, commands=("登记会议", "补录会议", "补登会议"), allowed=is_committee,
            roles_text=COMMITTEE, summary="会后登记已召开的会议（三会一课），不写参会情况按全体出席",
            example="登记会议 支委会 昨天 研究发展对象 缺席 李红梅", section="支部委员"),
    Handler(name="meeting_amend", func=amend, commands=("修改会议",), allowed=is_committee, roles_text=COMMITTEE,
            summary="修改登记的会议（类型、日期、主题、参会情况）", example="修改会议 12 缺席 张伟、李红梅",
            section="支部委员"),
    Handler(name="meeting_delete", func=remove, commands=("删除会议",), allowed=is_committee, roles_text=COMMITTEE,
            summary="删除登记错了的会议", example="删除会议 12", section="支部委员"),
)
