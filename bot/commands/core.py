"""serve, chat, say, db upgrade, demo."""
from __future__ import annotations

import argparse

from bot.channels import console
from bot.commands.common import runtime, service_settings, settings, today
from bot.settings import ensure_secret_key
from storage.db import transaction, upgrade

NOW_HELP = "当作这个本地时间处理消息，如 \"2027-01-04 09:00\"（试用某一天的提醒和会议；默认现在）"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="启动网页服务（企业微信、钉钉回调和 /healthz）")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--dev", action="store_true", help="用 Flask 开发服务器（仅供调试）")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("chat", help="在终端里以某个账号和机器人对话")
    p.add_argument("--as", dest="user", required=True, metavar="USERID", help="企业微信账号或钉钉账号")
    p.add_argument("--now", metavar="时间", help=NOW_HELP)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("say", help="以某个账号发一条消息，打印回复")
    p.add_argument("--as", dest="user", required=True, metavar="USERID")
    p.add_argument("--now", metavar="时间", help=NOW_HELP)
    p.add_argument("text", nargs="+", metavar="消息", help="要发送的文字")
    p.set_defaults(func=cmd_say)

    p = sub.add_parser("db", help="数据库")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("upgrade", help="建表或升级到最新结构").set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("demo", help="初始化数据库并写入示例党组织（可重复运行）")
    p.set_defaults(func=cmd_demo)


def cmd_serve(args) -> int:
    s = service_settings()
    if not args.dev:
        from bot.commands.common import require_schema
        from bot.serve import run_gunicorn

        require_schema(s)
        run_gunicorn(f"{args.host}:{args.port}", s.database_url)
        return 0
    with runtime(service=True) as rt:
        from bot.app import create_app

        create_app(runtime=rt).run(host=args.host, port=args.port)
    return 0


def cmd_chat(args) -> int:
    with runtime(now=args.now) as rt:
        return console.chat(rt.router, args.user)


def cmd_say(args) -> int:
    with runtime(now=args.now) as rt:
        text, code = console.say(rt.router, args.user, " ".join(args.text))
        print(text)
        return code


def cmd_db_upgrade(args) -> int:
    s = settings()
    upgrade(s.database_url)
    print("数据库已是最新结构。")
    return 0


def cmd_demo(args) -> int:
    if ensure_secret_key():
        print("已在 .env 写入随机的 ZHIBU_SECRET_KEY（签名链接用，请勿泄露）。")
    from bot.demo import (  # openpyxl and the roster import: only for the demo
        demo_ids_text,
        oversight_ids_text,
        seed_demo,
        seed_demo_oversight,
    )

    s = settings()
    upgrade(s.database_url)
    with runtime() as rt, transaction(rt.sessions) as session:
        result = seed_demo(session, today=today(rt))
        seed_demo_oversight(session, today(rt), rt.settings.tz)
    print(f"示例党组织已就绪：示范机关党委（第一至第四党支部）。{result.summary()}")
    print(demo_ids_text())
    print(oversight_ids_text())
    print("上级管理员 demo-dangwei 可发送“支部概况”查看各支部红黄绿状态。")
    return 0
