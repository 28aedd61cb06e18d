"""导出台账 2026-11: the month's attendance ledger as an .xlsx attachment (channels send it, or a signed link)."""
from __future__ import annotations

import re

from bot.core import Attachment, Context, Handler, Incoming, Reply, UserError
from bot.roles import is_committee
from handlers.common import managed_org
from handlers.meetings import COMMITTEE

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
    from storage.ledger_data import LedgerError, month_ledger  # openpyxl: only when a ledger is made

    try:
        ledger = month_ledger(ctx.session, org, year, mon, ctx.settings.tz, ctx.now)
    except LedgerError as err:
        raise UserError(str(err)) from None
    ctx.audit("ledger.export", org.name, month=ledger.month, meetings=ledger.meetings)
    return Reply(text=f"已生成{org.name}{year}年{mon}月出勤台账（{ledger.meetings}次会议，{ledger.members}名党员）："
                      f"{ledger.filename}",
                 attachment=Attachment(filename=ledger.filename, data=ledger.data), private=True)


HANDLERS = (
    Handler(name="ledger_export", func=export_ledger, commands=("导出台账", "出勤台账"), allowed=is_committee,
            roles_text=COMMITTEE, summary="导出某月的会议出勤台账（Excel）", example="导出台账 2026-11",
            section="支部委员"),
)
