"""`zhibu wecom check`: the operator's self-test of the WeCom settings, before pointing WeCom at the server."""
from __future__ import annotations

import argparse
from urllib.parse import urlparse

import requests

from bot.channels.wecom.push import WecomApiError, WecomClient
from bot.commands.common import CommandError, settings
from bot.settings import WecomSettings

# what each gettoken error means for the operator, and what to do
GETTOKEN_ERRORS = {
    40001: "Secret 不正确：请到 应用管理 → 本应用 → Secret 重新查看，填入 ZHIBU_WECOM_SECRET",
    40013: "CorpID 不正确：请到 我的企业 → 企业信息 → 企业ID 查看，填入 ZHIBU_WECOM_CORP_ID",
    40091: "Secret 不正确或已重置：请重新查看应用的 Secret",
    60020: "本机出口 IP 不在企业可信IP 中：请到 应用管理 → 本应用 → 企业可信IP 加入这台服务器的出口 IP",
    45009: "gettoken 调用太频繁，已被企业微信限流：请稍后再试",
    -1: "企业微信系统繁忙：请稍后再试",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("wecom", help="企业微信")
    wsub = p.add_subparsers(dest="wecom_command", required=True)
    c = wsub.add_parser("check", help="自检企业微信配置：回调地址、Token、EncodingAESKey 格式、获取 access_token")
    c.add_argument("--timeout", type=float, default=5.0, help="调用企业微信接口的超时秒数（默认 5）")
    c.set_defaults(func=cmd_check)


def cmd_check(args, write=print) -> int:
    s = settings()  # a malformed token or AES key stops here with one line naming the variable
    if s.wecom is None:
        raise CommandError("企业微信通道未开启：请设置 ZHIBU_WECOM_CORP_ID、ZHIBU_WECOM_AGENT_ID、ZHIBU_WECOM_SECRET、"
                           "ZHIBU_WECOM_TOKEN、ZHIBU_WECOM_AES_KEY（见 deploy/wecom.md）")
    w = s.wecom
    callback = f"{s.public_url}/wecom/callback"
    write(f"接收消息 URL（填到 应用管理 → 本应用 → 接收消息 → 设置API接收）：{callback}")
    host = urlparse(s.public_url).hostname or ""
    if host in ("127.0.0.1", "localhost") or not s.public_url.startswith("https://"):
        write("  注意：企业微信要从公网访问这个地址，建议用 https:// 的域名（请设置 ZHIBU_PUBLIC_URL）")
    write(f"Token 格式正确（{len(w.token)} 位）；EncodingAESKey 格式正确（43 位）；CorpID {w.corp_id}；"
          f"AgentId {w.agent_id}")
    write(f"接口地址：{w.api_base}")
    problem = try_gettoken(w, args.timeout)
    if problem:
        raise CommandError(f"获取 access_token 失败：{problem}")
    write("获取 access_token 成功：CorpID 与 Secret 正确，本机可以调用企业微信接口。")
    return 0


def try_gettoken(w: WecomSettings, timeout: float) -> str:
    """'' when gettoken works, else what went wrong and what to do, in one line."""
    client = WecomClient(w, timeout=(min(timeout, 3.05), timeout))
    try:
        client.fetch_token()
    except WecomApiError as err:
        advice = GETTOKEN_ERRORS.get(err.errcode) if err.errcode is not None else None
        return f"{advice}（错误码 {err.errcode}）" if advice else f"企业微信返回 {err.errcode}：{err.errmsg}"
    except requests.Timeout:
        return f"{timeout:g} 秒内没有响应：请检查本机到 {w.api_base} 的网络或代理"
    except requests.RequestException as err:
        return f"连不上 {w.api_base}（{type(err).__name__}）：请检查网络、DNS、防火墙或 ZHIBU_WECOM_API_BASE"
    return ""
