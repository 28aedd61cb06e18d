"""`zhibu dingtalk-stream`: receive DingTalk robot messages over Stream mode (no public URL needed)."""
from __future__ import annotations

import argparse
import signal

from bot.commands.common import CommandError, runtime, settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dingtalk-stream", help="以 Stream 模式连接钉钉接收机器人消息（无需公网地址）")
    p.set_defaults(func=cmd_stream)


def cmd_stream(args) -> int:
    s = settings()
    if s.dingtalk is None:
        raise CommandError("未配置钉钉：请设置 ZHIBU_DINGTALK_APP_KEY、ZHIBU_DINGTALK_APP_SECRET、ZHIBU_DINGTALK_ROBOT_CODE")
    if s.dingtalk.mode != "stream":
        raise CommandError("ZHIBU_DINGTALK_MODE 不是 stream：要用 Stream 模式请设为 stream，"
                           "并在钉钉开发者后台把机器人的消息接收模式改为 Stream 模式")
    from bot.channels.dingtalk.stream import build_stream_client

    with runtime(service=True) as rt:
        client = build_stream_client(rt)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: client.stop())
        print("钉钉 Stream 模式已启动，正在连接钉钉；按 Ctrl-C 停止。", flush=True)
        client.run_forever()
        print("钉钉 Stream 模式已停止。")
    return 0
