"""管理后台 as conversations: the 上级管理员 and a 书记 get a one-time link, a member is refused, a group chat is
told to ask in private; and one journey through WeCom: the message in, the link out, the console opened with it."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import func, select

from bot.app import create_app
from storage.models import AuditLog, ConsoleLogin
from tests.dues_helpers import send

LINK = re.compile(r"http://127\.0\.0\.1:8000/console/login/[\w-]+\.[\w-]+")


def test_the_upper_admin_gets_a_link(say):
    reply = say("demo-dangwei", "管理后台")
    assert reply.startswith("管理后台登录链接（只能你本人使用，只能用一次）：")
    assert LINK.search(reply)
    assert "10分钟内打开" in reply and "8小时" in reply


def test_each_request_gives_a_new_link(say, demo):
    first, second = LINK.search(say("demo-dangwei", "管理后台")), LINK.search(say("demo-dangwei", "管理后台"))
    assert first.group(0) != second.group(0)
    with demo.reading() as s:
        assert s.scalar(select(func.count()).select_from(ConsoleLogin)) == 0  # a link is recorded when used
        assert s.scalar(select(func.count()).where(AuditLog.action == "console.link")) == 2


def test_a_secretary_gets_a_link(say):
    reply = say("demo-shuji", "管理后台")
    assert LINK.search(reply)


def test_a_member_is_refused(say):
    reply = say("demo-dangyuan", "管理后台")
    assert reply == "「管理后台」只有上级管理员或支部书记可以使用。发送「帮助」看看你可以做什么。"
    assert "/console/" not in reply


def test_an_organizer_without_a_secretary_role_is_refused(say):
    assert "只有上级管理员或支部书记可以使用" in say("demo-zuzhi", "管理后台")


def test_in_a_group_chat_the_link_is_not_shown(demo):
    reply = send(demo, "demo-dangwei", "管理后台", chat_type="group")
    assert "/console/" not in reply.as_text()
    assert reply.as_text() == "管理后台的登录链接只发给本人：请私聊我发送“管理后台”。"


def test_the_private_reply_is_marked_private(demo):
    reply = send(demo, "demo-shuji", "管理后台")
    assert reply.private and LINK.search(reply.text)


def test_help_lists_it_for_a_secretary_only(say):
    assert "管理后台" in say("demo-shuji", "帮助")
    assert "管理后台" not in say("demo-dangyuan", "帮助")


def test_through_wecom_the_link_opens_the_console(wecom_demo, wecom_client):
    app = create_app(runtime=wecom_demo)
    http = app.test_client()
    query, body = wecom_client.encrypt_envelope(wecom_client.text_xml("demo-shuji2", "管理后台"))
    res = http.post(f"/wecom/callback?{query}", data=body.encode(), content_type="text/xml")
    text = wecom_client.open_reply(res.data).content
    link = LINK.search(text)
    assert link, text
    opened = http.get(urlsplit(link.group(0)).path)
    assert opened.status_code == 303
    page = http.get("/console")
    assert page.status_code == 200 and "刘洋" in page.text and "第二党支部" in page.text
    assert "第一党支部" not in page.text  # 刘洋 is 书记 of 第二党支部 only
