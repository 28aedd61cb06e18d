"""The `zhibu` command."""
from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys

# Every command, the module under bot/commands/ that defines it, and the line `zhibu --help` shows for it. A module is
# imported only when one of its commands runs, so `zhibu say` does not pay for the Excel, WeCom or scheduler code
# (tests/test_cli_commands.py checks this table against what the modules register).
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("core", "启动网页服务（企业微信、钉钉回调和 /healthz）"),
    "chat": ("core", "在终端里以某个账号和机器人对话"),
    "say": ("core", "以某个账号发一条消息，打印回复"),
    "db": ("core", "数据库"),
    "demo": ("core", "初始化数据库并写入示例党组织（可重复运行）"),
    "roster": ("roster", "党员名单：模板、导入、导出、移除"),
    "org": ("roster", "党组织设置"),
    "ledger": ("ledger", "会议出勤台账"),
    "dues": ("dues", "党费：交纳记录导入、登记簿导出"),
    "develop": ("develop", "发展党员工作台账：模板、导入、导出"),
    "kb": ("kb", "知识问答：提问、检查知识库文件、更新句向量"),
    "selfcheck": ("selfcheck", "规范化自查：检查自查标准文件"),
    "remind": ("remind", "提醒：计划、发送到期提醒、生成换届提醒函"),
    "calendar": ("calendar", "工作日历：录入国务院公布的放假和调休安排"),
    "scheduler": ("scheduler", "启动提醒调度进程（每天 8:00 规划提醒，每分钟发送到期提醒）"),
    "wecom": ("wecom", "企业微信"),
    "dingtalk-stream": ("dingtalk", "以 Stream 模式连接钉钉接收机器人消息（无需公网地址）"),
}


class ChineseHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


# argparse's own messages (Python 3.11–3.13), in the order they are tried; compiled only when an error is shown
_MESSAGES = (
    (r"the following arguments are required: (.+)", "缺少必填的参数：{0}"),
    (r"unrecognized arguments: (.+)", "不认识的参数：{0}"),
    (r"argument (.+?): invalid choice: '?(.+?)'? \(choose from (.+)\)", "{0} 没有“{1}”这一项（可选：{2}）"),
    (r"argument (.+?): expected one argument", "{0} 后面要写一个值"),
    (r"argument (.+?): expected at least one argument", "{0} 后面至少要写一个值"),
    (r"argument (.+?): expected (\d+) arguments?", "{0} 后面要写 {1} 个值"),
    (r"argument (.+?): invalid (\S+) value: '?(.+?)'?$", "{0} 的值“{2}”无效"),
    (r"argument (.+?): not allowed with argument (.+)", "{0} 不能和 {1} 一起用"),
    (r"argument (.+?): ignored explicit argument '?(.+?)'?$", "{0} 不接受值“{1}”"),
    (r"one of the arguments (.+) is required", "{0} 必须写一个"),
    (r"ambiguous option: (\S+) could match (.+)", "选项 {0} 不明确，可能是 {1}"),
)


def chinese_message(message: str) -> str:
    for pattern, text in _MESSAGES:
        if m := re.fullmatch(pattern, message.strip()):
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


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for `command` (its module's commands in full), or, without one, every command by name and help
    line only (enough for `zhibu --help` and for naming a mistyped command)."""
    parser = ChineseArgumentParser(prog="zhibu", description="支部助手：党支部日常工作机器人")
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令")
    if command in COMMANDS:
        importlib.import_module(f"bot.commands.{COMMANDS[command][0]}").register(sub)
    else:
        for name, (_module, help_line) in COMMANDS.items():
            sub.add_parser(name, help=help_line)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    from bot.commands.common import CommandError, fail

    try:
        return args.func(args)
    except CommandError as err:
        return fail(str(err))


if __name__ == "__main__":
    sys.exit(main())
