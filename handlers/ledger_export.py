"""导出台账 2026-11: the month's attendance ledger as an .xlsx, built after the reply and sent to the asker alone
(bot.files: the channel sends the file, or a signed link)."""
from __future__ import annotations

import re

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.roles import is_committee
from handlers.common import managed_org
from handlers.meetings import COMMITTEE
from storage.quoting import clip

MONTH = re.compile(r"(\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})\s*月?")


def parse_month(text: str, today) -> tuple[int, int]:
    text = text.strip()
    if not text or text in ("本月", "这个月"):
        return today.year, today.month
    if text == "上月":
        return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    m = MONTH.fullmatch(text) or re.fullmatch(r"(\d{4})(\d{2})", text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise UserError(f"“{clip(text)}”不是月份，请写成：导出台账 2026-11")
    return int(m.group(1)), int(m.group(2))


def export_ledger(incoming: Incoming, ctx: Context) -> Reply:
    from storage.attendance_ledger import ledger_filename  # openpyxl: only for an export
    from storage.ledger_data import LedgerError, month_meetings  # openpyxl: only for an export

    org = managed_org(ctx)
    year, mon = parse_month(ctx.args, ctx.today)

    try:
        meetings = month_meetings(ctx.session, org, year, mon, ctx.settings.tz, ctx.now)
    except LedgerError as err:
        raise UserError(str(err)) from None
    month = f"{year}-{mon:02d}"
    filename = ledger_filename(org.name, month)
    ctx.audit("ledger.export", org.name, month=month, meetings=len(meetings))
    ref = ctx.file("ledger", {"org": org.id, "year": year, "month": mon, "at": ctx.now.isoformat(),
                              "tz": ctx.settings.timezone}, filename)
    return Reply(text=f"正在生成{org.name}{year}年{mon}月出勤台账（{len(meetings)}次会议），稍后单独发给你：{filename}",
                 file=ref, private=True)


HANDLERS = (
    Handler(name="ledger_export", func=export_ledger, commands=("导出台账", "出勤台账"), allowed=is_committee,
            roles_text=COMMITTEE, summary="导出某月的会议出勤台账（Excel）", example="导出台账 上月",
            section="支部委员"),
)
