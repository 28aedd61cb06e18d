"""roster template|import|export|remove, org show|set."""
from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands.common import CommandError, import_all_or_nothing, org_named, runtime
from storage.db import transaction
from storage.org_settings import describe, set_setting
from storage.roster import export_roster, find_for_removal, import_roster, remove_member, write_template


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("roster", help="党员名单：模板、导入、导出、移除")
    rs = p.add_subparsers(dest="roster_command", required=True)
    t = rs.add_parser("template", help="生成导入模板 .xlsx")
    t.add_argument("file", type=Path)
    t.set_defaults(func=cmd_template)
    i = rs.add_parser("import", help="导入 .xlsx 或 .csv（全部正确才导入）")
    i.add_argument("file", type=Path)
    i.set_defaults(func=cmd_import)
    e = rs.add_parser("export", help="导出为与模板相同格式的 .xlsx")
    e.add_argument("file", type=Path)
    e.set_defaults(func=cmd_export)
    r = rs.add_parser("remove", help="移除一名党员（记入审计日志）")
    r.add_argument("who", help="姓名、手机号或账号")
    r.add_argument("--reason", default="", help="原因，例如 组织关系转出")
    r.add_argument("--mobile", default="", help="重名时用手机号后几位区分")
    r.set_defaults(func=cmd_remove)

    p = sub.add_parser("org", help="党组织设置")
    os_ = p.add_subparsers(dest="org_command", required=True)
    s = os_.add_parser("show", help="查看设置")
    s.add_argument("name")
    s.set_defaults(func=cmd_org_show)
    s = os_.add_parser("set", help="修改一项设置（记入审计日志）")
    s.add_argument("name")
    s.add_argument("key")
    s.add_argument("value")
    s.set_defaults(func=cmd_org_set)


def cmd_template(args) -> int:
    write_template(args.file)
    print(f"已生成导入模板：{args.file}（含「党组织」「党员」两张表和填写说明）")
    return 0


def cmd_import(args) -> int:
    return import_all_or_nothing(args.file, lambda session, rt: import_roster(session, args.file))


def cmd_export(args) -> int:
    with runtime() as rt, transaction(rt.sessions) as session:
        orgs, members = export_roster(session, args.file)
    print(f"已导出 {orgs} 个党组织、{members} 名党员到 {args.file}")
    return 0


def cmd_remove(args) -> int:
    with runtime() as rt, transaction(rt.sessions) as session:
        found = find_for_removal(session, args.who)
        if args.mobile:
            found = [m for m in found if (m.mobile or "").endswith(args.mobile)]
        if not found:
            raise CommandError(f"名单中没有“{args.who}”")
        if len(found) > 1:
            lines = "；".join(f"{m.name}（{m.organization.name}，手机尾号 {(m.mobile or '----')[-4:]}）" for m in found)
            raise CommandError(f"有 {len(found)} 人匹配：{lines}。请加 --mobile 手机尾号 区分")
        member = found[0]
        remove_member(session, member, args.reason)
        print(f"已移除 {member.name}（{member.organization.name}），记录已保留，可在审计日志中查到。")
    return 0


def cmd_org_show(args) -> int:
    with runtime() as rt, transaction(rt.sessions) as session:
        org = org_named(session, args.name)
        print(f"{org.name}（{org.type}）")
        for line in describe(org):
            print(f"  {line}")
    return 0


def cmd_org_set(args) -> int:
    with runtime() as rt, transaction(rt.sessions) as session:
        org = org_named(session, args.name)
        try:
            set_setting(session, org, args.key, args.value, robots=rt.settings.group_robots)
        except ValueError as err:
            raise CommandError(f"未修改：{err}") from None
        print(f"已修改 {org.name} 的设置：")
        for line in describe(org):
            print(f"  {line}")
    return 0
