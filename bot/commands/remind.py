"""remind plan [--date D] [--dry-run] [--json]: what the reminder rules give for a day, planned into the outbox."""
from __future__ import annotations

import argparse
import json
from datetime import date

from bot.commands.common import CommandError, runtime, today
from bot.commands.delivery import add_remind_commands
from reminders.planner import PlanResult, plan
from reminders.rules import TITLES, Due
from storage.db import transaction


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("remind", help="提醒：计划、发送到期提醒、生成换届提醒函")
    rs = p.add_subparsers(dest="remind_command", required=True)
    pl = rs.add_parser("plan", help="计划某一天应发的提醒（写入发件箱，已有的不重复）")
    pl.add_argument("--date", metavar="YYYY-MM-DD", help="计划哪一天（默认今天）")
    pl.add_argument("--dry-run", action="store_true", help="只显示，不写入")
    pl.add_argument("--json", action="store_true", help="只输出 JSON 列表")
    pl.set_defaults(func=cmd_plan)
    add_remind_commands(rs)  # send and letter


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"日期“{text}”无效，请写成 2027-01-15") from None


def due_json(due: Due) -> dict:
    return {
        "dedupe_key": due.key,
        "kind": due.kind,
        "organization": due.organization,
        "recipients": [{"name": p.name, "userid": p.userid} for p in due.recipients],
        "due_at": due.due_at.isoformat(),
        "relevant_until": due.relevant_until.isoformat(),
        "text": due.text,
    }


def cmd_plan(args) -> int:
    day = parse_day(args.date) if args.date else None  # a mistyped date ends the command before it connects
    with runtime() as rt, transaction(rt.sessions) as session:
        day = day or today(rt)
        result = plan(session, day, dry_run=args.dry_run, now=rt.services.clock(), tz=rt.settings.tz)
    if args.json:
        print(json.dumps([due_json(d) for d in result.dues], ensure_ascii=False, indent=2))
        return 0
    print_text(result, args.dry_run)
    return 0


def print_text(result: PlanResult, dry_run: bool) -> None:
    print(f"{result.planned_for.isoformat()} 的提醒{'（试运行，未写入）' if dry_run else ''}：")
    for due in result.dues:
        names = "、".join(p.name for p in due.recipients[:5]) + (f"等{len(due.recipients)}人"
                                                                  if len(due.recipients) > 5 else "")
        print(f"  [{TITLES[due.kind]}] {due.organization} {due.due_at:%Y-%m-%d %H:%M} → {names}")
    if not result.dues:
        print("  （没有应发的提醒）")
    print(result.summary())
