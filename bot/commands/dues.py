"""dues template|import|export: the payments sheet in, the 党费收缴登记簿 out."""
from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import select

from bot.commands.common import CommandError, import_all_or_nothing, org_named, runtime, today
from storage.db import transaction
from storage.dues import branch_members
from storage.dues_export import export_dues
from storage.dues_import import import_dues, write_template
from storage.models import Organization


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dues", help="党费：交纳记录导入、登记簿导出")
    ds = p.add_subparsers(dest="dues_command", required=True)
    t = ds.add_parser("template", help="生成党费交纳导入模板 .xlsx")
    t.add_argument("file", type=Path)
    t.set_defaults(func=cmd_template)
    i = ds.add_parser("import", help="导入党费交纳记录 .xlsx 或 .csv（全部正确才导入）")
    i.add_argument("file", type=Path)
    i.add_argument("--org", default="", help="只在这个党支部里找姓名")
    i.set_defaults(func=cmd_import)
    e = ds.add_parser("export", help="导出某年的党费收缴登记簿 .xlsx（每个党支部一张表）")
    e.add_argument("year", type=int)
    e.add_argument("file", type=Path)
    e.add_argument("--org", default="", help="只导出这个党支部")
    e.set_defaults(func=cmd_export)


def _org(session, name: str) -> Organization | None:
    """The --org given, or None for every branch."""
    return org_named(session, name) if name else None


def cmd_template(args) -> int:
    write_template(args.file)
    print(f"已生成党费交纳导入模板：{args.file}")
    return 0


def cmd_import(args) -> int:
    return import_all_or_nothing(
        args.file, lambda session, rt: import_dues(session, args.file, today(rt), org=_org(session, args.org)))


def cmd_export(args) -> int:
    with runtime() as rt, transaction(rt.sessions) as session:
        this_day = today(rt)
        if not 2000 <= args.year <= this_day.year + 1:
            raise CommandError(f"年份 {args.year} 不在 2000 至 {this_day.year + 1} 之间")
        org = _org(session, args.org)
        if org is not None:
            orgs = [org]
        else:  # every organisation that keeps dues for someone (党小组 members belong to their branch's sheet)
            orgs = [o for o in session.scalars(select(Organization).where(Organization.type != "党小组")
                                               .order_by(Organization.id)) if branch_members(session, o)]
        args.file.write_bytes(export_dues(session, orgs, args.year, this_day))
    print(f"已导出 {args.year} 年党费收缴登记簿（{len(orgs)} 个党组织）到 {args.file}")
    return 0
