"""A branch's group webhook can only be a platform's group-robot send URL: DingTalk's robot/send?access_token=… or
WeCom's webhook/send?key=…, on the configured API hosts. Anything else is refused with the accepted form named, in
the chat's 设置 and in `zhibu org set`, and nothing is stored."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from bot.channels import console
from bot.cli import main
from storage.db import transaction
from storage.models import Organization

DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123456789abcdef"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7a2c-4bc4-97a0-0ec2a1f5aaa1"
REFUSED = [
    "https://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/robot/send?access_token=abc",
    "https://oapi.dingtalk.com.evil.example/robot/send?access_token=abc",
    "https://evil.example/oapi.dingtalk.com/robot/send?access_token=abc",
    "https://oapi.dingtalk.com@evil.example/robot/send?access_token=abc",
    "https://user@oapi.dingtalk.com/robot/send?access_token=abc",
    "http://oapi.dingtalk.com/robot/send?access_token=abc",
    "https://oapi.dingtalk.com:8443/robot/send?access_token=abc",
    "https://oapi.dingtalk.com/robot/sendBySession?session=abc",
    "https://oapi.dingtalk.com/robot/send/../../admin?access_token=abc",
    "https://oapi.dingtalk.com/robot/send",
    "https://oapi.dingtalk.com/robot/send?access_token=",
    "https://oapi.dingtalk.com/robot/send?access_token=abc&callback=https://evil.example",
    "https://oapi.dingtalk.com/robot/send?access_token=abc#x",
    "https://oapi.dingtalk.com/robot/send?key=abc",
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?access_token=abc",
    "https://qyapi.weixin.qq.com.evil.example/cgi-bin/webhook/send?key=abc",
    "https://qyapi.weixin.qq.com/cgi-bin/message/send?key=abc",
    "https://oapi.dingtalk.com\\@evil.example/robot/send?access_token=abc",
    "ftp://oapi.dingtalk.com/robot/send?access_token=abc",
    "oapi.dingtalk.com/robot/send?access_token=abc",
]


def webhook_of(rt, org_name: str = "第一党支部") -> str | None:
    with transaction(rt.sessions) as s:
        org = s.scalars(select(Organization).where(Organization.name == org_name)).one()
        return (org.settings or {}).get("group_webhook")


@pytest.mark.parametrize("url", REFUSED)
def test_anything_but_a_robot_send_url_is_refused_in_chat(demo, say, url):
    reply = say("demo-shuji", f"设置 group_webhook {url}")
    assert reply.startswith("未修改") and "robot/send?access_token=" in reply and "webhook/send?key=" in reply, reply
    assert "evil" not in reply and "169.254" not in reply  # the refused address is not repeated back
    assert webhook_of(demo) is None


@pytest.mark.parametrize("url", [DINGTALK, WECOM, DINGTALK.replace("oapi.dingtalk.com", "OAPI.DingTalk.com")])
def test_the_platforms_send_urls_are_accepted(demo, say, url):
    reply = say("demo-shuji", f"设置 群机器人地址 {url}")
    assert reply.startswith("已修改") and "access_token" not in reply and "key=" not in reply  # the address is secret
    assert webhook_of(demo) == url


def test_the_configured_api_hosts_are_the_accepted_ones(db_url, clock, segmenter):
    """A private deployment (政务微信, 专有钉钉) or a test double names its own hosts; the public ones are then
    refused like any other."""
    from bot.demo import seed_demo
    from bot.runtime import build_runtime
    from tests.conftest import make_settings

    rt = build_runtime(make_settings(db_url, ZHIBU_WECOM_API_BASE="https://wx.gov.example/cgi-bin/",
                                     ZHIBU_DINGTALK_ROBOT_BASE="https://ding.gov.example"),
                       clock=clock, segmenter=segmenter)
    try:
        with transaction(rt.sessions) as s:
            seed_demo(s)
        for url in (DINGTALK, WECOM):
            assert console.say(rt.router, "demo-shuji", f"设置 group_webhook {url}")[0].startswith("未修改")
        own = ["https://ding.gov.example/robot/send?access_token=abc123",
               "https://wx.gov.example/cgi-bin/webhook/send?key=abc-123"]
        for url in own:
            assert console.say(rt.router, "demo-shuji", f"设置 group_webhook {url}")[0].startswith("已修改")
            assert webhook_of(rt) == url
    finally:
        rt.close()


def test_org_set_on_the_command_line_refuses_too(demo, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("ZHIBU_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("ZHIBU_DATABASE_URL", demo.settings.database_url)
    assert main(["org", "set", "第一党支部", "group_webhook", "https://169.254.169.254/latest/meta-data/"]) == 1
    err = capsys.readouterr().err
    assert "未修改" in err and "robot/send?access_token=" in err and err.count("\n") == 1
    assert webhook_of(demo) is None
    assert main(["org", "set", "第一党支部", "group_webhook", DINGTALK]) == 0
    assert webhook_of(demo) == DINGTALK
