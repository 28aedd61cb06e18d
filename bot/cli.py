"""The `zhibu` command."""
from __future__ import annotations

import argparse
import logging
import sys

from bot.commands import calendar, core, develop, dingtalk, dues, kb, ledger, remind, roster, scheduler, wecom
from bot.commands.common import CommandError, fail

COMMAND_MODULES = (core, roster, ledger, dues, develop, kb, remind, calendar, scheduler, wecom, dingtalk)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zhibu", description="支部助手：党支部日常工作机器人")
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CommandError as err:
        return fail(str(err))


if __name__ == "__main__":
    sys.exit(main())
