"""The `zhibu` command."""
from __future__ import annotations

import argparse
import logging
import re
import sys

from bot.commands import calendar, core, dingtalk, dues, kb, ledger, remind, roster, scheduler, wecom
from bot.commands.common import CommandError, fail

COMMAND_MODULES = (core, roster, ledger, dues, kb, remind, calendar, scheduler, wecom, dingtalk)


class ChineseHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


# argparse's own messages (Python 3.11–3.13), in the order they are tried
_MESSAGES = (
    (re.compile(r"the following arguments are required: (.+)"), "缺少必填的参数：{0}"),
    (re.compile(r"unrecognized arguments: (.+)"), "不认识的参数：{0}"),
    (re.compile(r"argument (.+?): invalid choice: '?(.+?)'? \(choose from (.+)\)"), "{0} 没有“{1}”这一项（可选：{2}）"),
    (re.compile(r"argument (.+?): expected one argument"), "{0} 后面要写一个值"),
    (re.compile(r"argument (.+?): expected at least one argument"), "{0} 后面至少要写一个值"),
    (re.compile(r"argument (.+?): expected (\d+) arguments?"), "{0} 后面要写 {1} 个值"),
    (re.compile(r"argument (.+?): invalid (\S+) value: '?(.+?)'?$"), "{0} 的值“{2}”无效"),
    (re.compile(r"argument (.+?): not allowed with argument (.+)"), "{0} 不能和 {1} 一起用"),
    (re.compile(r"argument (.+?): ignored explicit argument '?(.+?)'?$"), "{0} 不接受值“{1}”"),
    (re.compile(r"one of the arguments (.+) is required"), "{0} 必须写一个"),
    (re.compile(r"ambiguous option: (\S+) could match (.+)"), "选项 {0} 不明确，可能是 {1}"),
)


def chinese_message(message: str) -> str:
    for pattern, text in _MESSAGES:
        if m := pattern.fullmatch(message.strip()):
            return text.format(*(g.replace("'", "") for g in m.groups()))
    return message


class ChineseArgumentParser(argparse.ArgumentParser):
    """argparse with its usage lines, headings and errors in Chinese; the subcommands' parsers are of this class too."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", ChineseHelpFormatter)
        add_help = kwargs.pop("add_help", True)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "参数"
        self._optionals.title = "选项"
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示这段帮助后退出")

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}：{chinese_message(message)}。加 -h 查看用法。\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseArgumentParser(prog="zhibu", description="支部助手：党支部日常工作机器人")
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
