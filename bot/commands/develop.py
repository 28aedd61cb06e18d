"""develop template|import|export: the 发展党员工作台账 workbook."""
from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands.common import CommandError, import_all_or_nothing, org_named, runtime, today
from reminders.state import load_calendar
from reminders.workdays import Calendar
from storage.db import transaction
from storage.development_sheets import export_to, import_development, write_template
from storage.models import Organization


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("develop", help="发展党员工作台账：模板、导入、导出")
    ds = p.add_subparsers(dest="develop_command", required=True)
    t = ds.add_parser("template", help="生成台账模板 .xlsx")
    t.add_argument("file", type=Path)
    t.set_defaults(func=cmd_template)
    i = ds.add_parser("import", help="导入台账 .xlsx（逐项按细则核对，全部正确才导入）")
    i.add_argument("file", type=Path)
    i.set_defaults(func=cmd_import)
    e = ds.add_parser("export", help="导出台账 .xlsx（每人一行，每个环节一列）")
    e.add_argument("file", type=Path)
    e.add_argument("--branch", default="", help="只导出这个党支部")
    e.set_defaults(func=cmd_export)


def cmd_template(args) -> int:
    write_template(args.file)
    print(f"已生成发展党员工作台账模板：{args.file}（含填写说明）")
    return 0


def cmd_import(args) -> int:
    def do_import(session, rt):
        return import_development(session, args.file, today=today(rt), cal=Calendar(load_calendar(session)),
                                  at=rt.services.clock())
    return import_all_or_nothing(args.file, do_import)


def cmd_export(args) -> int:
    with runtime() as rt, transaction(rt.sessions) as session:
        if args.branch:
            org = org_named(session, args.branch)
            if org.type != "党支部":
                raise CommandError(f"“{org.name}”不是党支部")
            branches = [org]
        else:
            branches = list(session.query(Organization).filter(Organization.type == "党支部")
                            .order_by(Organization.id))
        count = export_to(session, args.file, branches, today(rt))
    print(f"已导出 {count} 人的发展党员工作台账到 {args.file}")
    return 0
