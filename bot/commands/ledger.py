"""ledger export: the month's attendance ledger (.xlsx) of one organisation, written to a file."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from bot.commands.common import CommandError, org_named, runtime
from storage.db import transaction
from storage.ledger_data import LedgerError, month_ledger


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ledger", help="会议出勤台账")
    ls = p.add_subparsers(dest="ledger_command", required=True)
    e = ls.add_parser("export", help="导出某月的出勤台账 .xlsx")
    e.add_argument("org", help="党组织名称，例如 第一党支部")
    e.add_argument("month", help="月份，例如 2026-11")
    e.add_argument("--out", type=Path, default=None, help="输出文件（默认为当前目录下的“某支部出勤台账2026-11.xlsx”）")
    e.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", args.month.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise CommandError(f"月份请写成 2026-11，而不是“{args.month}”")
    with runtime() as rt:
        with transaction(rt.sessions) as session:
            org = org_named(session, args.org)
            now = rt.services.clock().astimezone(rt.settings.tz)
            try:
                ledger = month_ledger(session, org, int(m.group(1)), int(m.group(2)), rt.settings.tz, now)
            except LedgerError as err:
                raise CommandError(str(err)) from None
    out = args.out or Path(ledger.filename)
    out.write_bytes(ledger.data)
    print(f"已导出{args.org}{ledger.month}出勤台账（{ledger.meetings}次会议，{ledger.members}名党员）：{out}")
    return 0
