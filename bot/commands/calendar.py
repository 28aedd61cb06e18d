"""calendar set DAYS off|work: load the State Council's holiday schedule for a year the package does not know."""
from __future__ import annotations

import argparse

from bot.commands.common import CommandError, runtime
from reminders.workdays import OFF, WORK, parse_range
from storage.audit import record_audit
from storage.db import transaction
from storage.models import CalendarOverride


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calendar", help="工作日历：录入国务院公布的放假和调休安排")
    cs = p.add_subparsers(dest="calendar_command", required=True)
    s = cs.add_parser("set", help="例如 calendar set 2027-10-01..2027-10-07 off；calendar set 2027-09-26 work")
    s.add_argument("days", help="一天 2027-09-26，或范围 2027-10-01..2027-10-07")
    s.add_argument("kind", choices=(OFF, WORK), help="off 放假，work 上班（调休）")
    s.add_argument("--note", default="", help="备注，例如 国庆节")
    s.set_defaults(func=cmd_set)


def cmd_set(args) -> int:
    try:
        days = parse_range(args.days)
    except ValueError as err:
        raise CommandError(f"未修改：{err}") from None
    with runtime() as rt, transaction(rt.sessions) as session:
        for d in days:
            row = session.get(CalendarOverride, d)
            if row is None:
                session.add(CalendarOverride(day=d, kind=args.kind, note=args.note or None))
            else:
                row.kind, row.note = args.kind, args.note or row.note
        record_audit(session, "calendar.set", args.days, detail={"kind": args.kind, "days": len(days)})
    word = "放假" if args.kind == OFF else "上班"
    print(f"已设置 {days[0].isoformat()}{'' if len(days) == 1 else ' 至 ' + days[-1].isoformat()} 为{word}"
          f"（共 {len(days)} 天）。此后计划提醒时以此为准。")
    return 0
