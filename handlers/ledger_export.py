"""导出台账 2026-11: the month's attendance ledger as an .xlsx attachment (channels send it, or a signed link)."""
from __future__ import annotations

import re
from datetime import datetime, time

from bot.context import Context, UserError
from bot.messages import Attachment, Incoming, Reply
from bot.roles import is_committee
from bot.router import Handler
from handlers.common import active_members, managed_org
from handlers.meetings import COMMITTEE
from storage import attendance as att
from storage.attendance_ledger import LedgerMeeting, LedgerMember, LedgerRow, build_ledger, ledger_filename
from storage.meetings import expected_members, invited_ids, kinds_text, meetings_between
from storage.models import Member, Organization
from storage.org_settings import get_setting

MONTH = re.compile(r"(\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})\s*月?")


def parse_month(text: str, today) -> tuple[int, int]:
    text = text.strip()
    if not text or text in ("本月", "这个月"):
        return today.year, today.month
    if text == "上月":
        return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    m = MONTH.fullmatch(text) or re.fullmatch(r"(\d{4})(\d{2})", text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise UserError(f"“{text}”不是月份，请写成：导出台账 2026-11")
    return int(m.group(1)), int(m.group(2))


def export_ledger(incoming: Incoming, ctx: Context) -> Reply:
    org = managed_org(ctx)
    year, mon = parse_month(ctx.args, ctx.today)
    tz = ctx.settings.tz
    start = datetime.combine(datetime(year, mon, 1).date(), time(0), tzinfo=tz)
    end = datetime.combine(datetime(year + mon // 12, mon % 12 + 1, 1).date(), time(0), tzinfo=tz)
    month = f"{year}-{mon:02d}"
    if start > ctx.now:
        raise UserError(f"{year}年{mon}月还没到，没有台账可导出。")
    meetings = meetings_between(ctx.session, org, start, end, opened_by=ctx.now)
    if not meetings:
        raise UserError(f"{org.name}{year}年{mon}月没有会议签到记录。发起签到请发送：发起签到 主题党日")
    ledger_meetings = [ledger_meeting(ctx, m) for m in meetings]
    members = [LedgerMember(m.id, m.name, m.category) for m in active_members(ctx, org)]
    known = {m.member_key for m in members}
    # members who attended this month but have left the branch since still appear in the summary
    for lm in ledger_meetings:
        for row in lm.rows:
            member = ctx.session.get(Member, row.member_key)
            if row.member_key not in known and member.organization_id == org.id:
                members.append(LedgerMember(member.id, member.name, member.category))
                known.add(member.id)
    data = build_ledger(org.name, month, ledger_meetings, members)
    filename = ledger_filename(org.name, month)
    ctx.audit("ledger.export", org.name, month=month, meetings=len(meetings))
    return Reply(text=f"已生成{org.name}{year}年{mon}月出勤台账（{len(meetings)}次会议，{len(members)}名党员）："
                      f"{filename}",
                 attachment=Attachment(filename=filename, data=data), private=True)


def ledger_meeting(ctx: Context, meeting) -> LedgerMeeting:
    tz = ctx.settings.tz
    rows = att.rows_by_member(ctx.session, meeting.id)

    def local(at):
        return at.astimezone(tz).replace(tzinfo=None) if at else None

    ledger_rows = []
    for member in expected_members(ctx.session, meeting):
        row = rows.get(member.id)
        ledger_rows.append(LedgerRow(
            member_key=member.id, name=member.name, org=member.organization.name, category=member.category,
            status=row.status if row else None, at=local(row.at) if row else None, via=row.via if row else None,
            note=row.note if row else None))
    host = ctx.session.get(Member, meeting.created_by_id) if meeting.created_by_id else None
    scope = [meeting.organization.name, *(ctx.session.get(Organization, i).name for i in invited_ids(meeting))]
    return LedgerMeeting(kinds=kinds_text(meeting), title=meeting.title, starts_at=local(meeting.starts_at),
                         place=meeting.place, host=host.name if host else "", scope="、".join(scope),
                         threshold=get_setting(meeting.organization, "participation_threshold"), rows=ledger_rows)


HANDLERS = (
    Handler(name="ledger_export", func=export_ledger, commands=("导出台账", "出勤台账"), allowed=is_committee,
            roles_text=COMMITTEE, summary="导出某月的会议出勤台账（Excel）", example="导出台账 2026-11",
            section="支部委员"),
)
