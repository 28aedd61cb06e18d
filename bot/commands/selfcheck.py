"""selfcheck check: the 规范化 standard file alone (no database), checked as the chat's 规范化自查 reads it."""
from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands.common import CommandError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("selfcheck", help="规范化自查：检查自查标准文件")
    scsub = p.add_subparsers(dest="selfcheck_command", required=True, metavar="子命令")
    check = scsub.add_parser("check", help="检查规范化自查标准文件的格式、分值和 measure")
    check.add_argument("file", type=Path, nargs="?", default=None, help="标准文件（默认用自带的标准）")
    check.set_defaults(func=cmd_check)


def cmd_check(args) -> int:
    from reminders.selfcheck_standard import STANDARD_FILE, StandardError, load_standard

    try:
        standard = load_standard(args.file or STANDARD_FILE)
    except StandardError as err:
        lines = [f"自查标准有 {len(err.problems)} 处问题，请修改后再运行 zhibu selfcheck check："]
        raise CommandError("\n".join(lines + [f"· {p}" for p in err.problems])) from None
    scored = [i for i in standard.items if not i.manual]
    manual = [i for i in standard.items if i.manual]
    print(f"自查标准检查通过：{len(standard.items)} 项，共 {sum(i.points for i in standard.items)} 分；"
          f"系统评分 {len(scored)} 项 {sum(i.points for i in scored)} 分，"
          f"需人工核查 {len(manual)} 项 {sum(i.points for i in manual)} 分。")
    return 0
