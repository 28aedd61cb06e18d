"""Reply → DingTalk bodies, and robot message bodies → Incoming."""
import json
from datetime import UTC, datetime

import pytest

from bot.channels.dingtalk.parse import BadMessage, QuotaNotice, parse_body
from bot.channels.dingtalk.render import EMPTY, openapi_message, webhook_body
from bot.messages import Button, Card, FileRef, Reply

CARD = Card("签到情况", ("应到 12 人，已到 9 人", "未到：张伟、陈晨"),
            (Button("结束签到", command="结束签到"),))


def test_text_markdown_and_empty():
    assert webhook_body(Reply(text="好")) == {"msgtype": "text", "text": {"content": "好"}}
    assert webhook_body(Reply.of_duplicate()) == EMPTY
    assert webhook_body(Reply()) == EMPTY
    md = webhook_body(Reply(markdown="## 本月安排\n- 20日 主题党日"))
    assert md == {"msgtype": "markdown", "markdown": {"title": "本月安排", "text": "## 本月安排  \n- 20日 主题党日"}}


def test_cards():
    single = webhook_body(Reply(card=CARD))["actionCard"]
    assert single["singleTitle"] == "结束签到"
    assert single["singleURL"] == "dtmd://dingtalkclient/sendMessage?content=%E7%BB%93%E6%9D%9F%E7%AD%BE%E5%88%B0"
    assert single["text"].startswith("### 签到情况  \n应到 12 人")
    two = Card("t", ("a",), (Button("甲", command="甲"), Button("乙", url="https://example.cn/b")))
    body = webhook_body(Reply(card=two))["actionCard"]
    assert [b["title"] for b in body["btns"]] == ["甲", "乙"] and body["btns"][1]["actionURL"] == "https://example.cn/b"
    assert webhook_body(Reply(card=Card("只有标题", ("一行",))))["msgtype"] == "markdown"


def test_openapi_keys():
    assert openapi_message(Reply(text="x")) == ("sampleText", '{"content": "x"}')
    key, param = openapi_message(Reply(card=CARD))
    assert key == "sampleActionCard" and json.loads(param)["singleTitle"] == "结束签到"
    many = Card("t", (), tuple(Button(f"b{i}", command=f"c{i}") for i in range(7)))
    key, param = openapi_message(Reply(card=many))
    assert key == "sampleMarkdown" and "[b6](dtmd://" in json.loads(param)["text"]
    key, param = openapi_message(Reply(file=FileRef("ledger", {}, "台账.xlsx", 1)))
    assert key == "sampleText" and "台账.xlsx" in json.loads(param)["content"]


def body(**over):
    return {"msgtype": "text", "text": {"content": " 帮助"}, "msgId": "m1", "conversationType": "1",
            "senderStaffId": "u1", "conversationId": "cid1", **over}


def test_parse_private_and_group():
    one = parse_body(body()).incoming
    assert (one.text, one.chat_type, one.user_id, one.message_id) == ("帮助", "private", "u1", "m1")
    group = parse_body(body(conversationType="2", text={"content": "@支部助手  @李红梅 签到 4827"})).incoming
    assert group.text == "签到 4827" and group.in_group and group.conversation_id == "cid1"
    # in a one-to-one chat an @ is the member's own text
    assert parse_body(body(text={"content": "@李红梅 的信息"})).incoming.text == "@李红梅 的信息"


def test_parse_rich_text_and_quota():
    rich = body(msgtype="richText", content={"richText": [{"text": "我的"}, {"downloadCode": "x"}, {"text": "信息"}]})
    del rich["text"]
    assert parse_body(rich).incoming.text == "我的信息"
    assert parse_body({"errorCode": "20001", "errorMessage": "超量"}) == QuotaNotice("20001", "超量")


def test_parse_dates_the_message_by_its_create_at():
    sent = parse_body(body(createAt=1795485600123)).incoming.received_at  # milliseconds
    assert sent == datetime(2026, 11, 24, 2, 0, 0, 123000, tzinfo=UTC)
    assert parse_body(body(createAt="1795485600123")).incoming.received_at == sent
    # no date, or none that can be read: the message is not refused for it (the router treats it as fresh)
    for missing in (None, "yesterday", True, 10 ** 30, [1]):
        assert parse_body(body(createAt=missing)).incoming.received_at is None
    assert parse_body(body()).incoming.received_at is None


@pytest.mark.parametrize("bad", [[], "x", body(msgId=""), body(senderStaffId=None), body(text=None),
                                 body(conversationType=2)])
def test_parse_refuses(bad):
    with pytest.raises(BadMessage):
        parse_body(bad)
