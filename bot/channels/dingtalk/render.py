"""A platform-neutral Reply → DingTalk message bodies.

Two families: the webhook shape (synchronous callback reply, sessionWebhook, custom group robot) and the OpenAPI
shape (`msgKey` + `msgParam`, for batchSend and groupMessages/send).
"""
from __future__ import annotations

import json
from urllib.parse import quote

from bot.messages import Button, Card, Reply

EMPTY = {"msgtype": "empty"}
PRIVATE_SENT = "内容涉及个人信息，已私聊发给你，请查看与支部助手的单聊。"
PRIVATE_FAILED = "内容涉及个人信息，不在群里显示。请在与支部助手的单聊里再发一次。"


def button_url(button: Button) -> str:
    """A command button sends its text back as the member's message (DingTalk's dtmd link)."""
    if button.url:
        return button.url
    return "dtmd://dingtalkclient/sendMessage?content=" + quote(button.command or button.label, safe="")


def markdown_text(text: str) -> str:
    # DingTalk markdown needs two spaces before a newline for a line break
    return "  \n".join(text.split("\n"))


def title_of(reply: Reply) -> str:
    if reply.card:
        return reply.card.title[:30]
    source = reply.markdown or reply.as_text()
    first = next((line.strip("# ").strip() for line in source.splitlines() if line.strip()), "支部助手")
    return first[:30] or "支部助手"


def card_markdown(card: Card, with_links: bool = False) -> str:
    lines = [f"### {card.title}", *card.lines]
    if with_links:
        lines += [f"- [{b.label}]({button_url(b)})" for b in card.buttons]
    return markdown_text("\n".join(lines))


def webhook_body(reply: Reply) -> dict:
    """The body for a callback's synchronous reply, a sessionWebhook or a group robot webhook."""
    if reply.duplicate or reply.is_empty:
        return dict(EMPTY)
    if reply.card and reply.card.buttons:
        card = reply.card
        body: dict = {"title": title_of(reply), "text": card_markdown(card)}
        if len(card.buttons) == 1:
            body |= {"singleTitle": card.buttons[0].label, "singleURL": button_url(card.buttons[0])}
        else:
            body |= {"btnOrientation": "0",
                     "btns": [{"title": b.label, "actionURL": button_url(b)} for b in card.buttons]}
        return {"msgtype": "actionCard", "actionCard": body}
    if reply.card:
        return {"msgtype": "markdown", "markdown": {"title": title_of(reply), "text": card_markdown(reply.card)}}
    if reply.markdown:
        return {"msgtype": "markdown", "markdown": {"title": title_of(reply), "text": markdown_text(reply.markdown)}}
    return {"msgtype": "text", "text": {"content": reply.as_text()}}


def openapi_message(reply: Reply) -> tuple[str, str]:
    """(msgKey, msgParam JSON string) for oToMessages/batchSend and groupMessages/send."""
    if reply.card and reply.card.buttons:
        card, n = reply.card, len(reply.card.buttons)
        if n == 1:
            param = {"title": title_of(reply), "text": card_markdown(card),
                     "singleTitle": card.buttons[0].label, "singleURL": button_url(card.buttons[0])}
            return "sampleActionCard", _dump(param)
        if n <= 5:
            param = {"title": title_of(reply), "text": card_markdown(card)}
            for i, b in enumerate(card.buttons, start=1):
                param[f"actionTitle{i}"] = b.label
                param[f"actionURL{i}"] = button_url(b)
            return f"sampleActionCard{n}", _dump(param)
        return "sampleMarkdown", _dump({"title": title_of(reply), "text": card_markdown(card, with_links=True)})
    if reply.card:
        return "sampleMarkdown", _dump({"title": title_of(reply), "text": card_markdown(reply.card)})
    if reply.markdown:
        return "sampleMarkdown", _dump({"title": title_of(reply), "text": markdown_text(reply.markdown)})
    return "sampleText", _dump({"content": reply.as_text()})


def _dump(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False)
