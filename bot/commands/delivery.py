"""remind send, remind letter: delivering reminders and the 换届提醒函.

`add_remind_commands` adds both to any `remind` subparsers, so they can join a `remind` group defined elsewhere.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands.common import CommandError, runtime, today
from storage.db import transaction

STATUS_TEXT = {"sent": "已发送", "pending": "失败，稍后重试", "failed": "失败", "expired": "已过时效，未发送",
               "deferred": "超过每分钟上限，稍后发送", "lost": "已由另一进程接手"}


def add_remind_commands(rs: argparse._SubParsersAction) -> None:
    s = rs.add_parser("send", help="发送所有到期的提醒（一次），打印结果")
    s.set_defaults(func=cmd_send)
    letter = rs.add_parser("letter", help="生成某党支部的换届提醒函 .docx")
    letter.add_argument("org", help="党支部名称，例如 第一党支部")
    letter.add_argument("file", type=Path, help="保存为，例如 换届提醒函.docx")
    letter.set_defaults(func=cmd_letter)


def cmd_send(args) -> int:
    from reminders.outbox import dispatcher_for

    with runtime() as rt:
        def show(o) -> None:
            line = f"{STATUS_TEXT.get(o.status, o.status)}  {o.recipient}  {o.dedupe_key}"
            if o.platform and o.status == "sent":
                line += f"（{o.platform}）"
            if o.error and o.status != "sent":
                line += f"：{o.error}"
            print(line, flush=True)

        report = dispatcher_for(rt.sessions, rt.services).dispatch(on_outcome=show)
    print(report.summary())
    return 0


def cmd_letter(args) -> int:
    from reminders.letter import LetterError, build_letter, letter_facts
    from storage.orgs import find_org

    if args.file.suffix.lower() != ".docx":
        raise CommandError("文件名须以 .docx 结尾，例如 换届提醒函.docx")
    with runtime() as rt, transaction(rt.sessions) as session:
        org = find_org(session, args.org)
        if org is None:
            raise CommandError(f"没有找到党组织“{args.org}”：请检查名称（zhibu roster export 可导出名单查看）")
        try:
            facts = letter_facts(session, org, today(rt))
        except LetterError as err:
            raise CommandError(str(err)) from None
        data = build_letter(facts)
    try:
        args.file.write_bytes(data)
    except OSError as err:
        raise CommandError(f"无法写入 {args.file}：{err.strerror}") from None
    print(f"已生成换届提醒函：{args.file}（{facts.branch}，任期 {facts.elected_on} 至 {facts.ends_on}，"
          f"请于 {facts.hold_by} 前完成换届）")
    return 0
