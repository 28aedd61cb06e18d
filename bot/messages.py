"""Platform-neutral messages: what a channel hands the router, and what it renders back."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Incoming:
    platform: str  # console / wecom / dingtalk
    user_id: str  # the platform's own user id
    text: str
    message_id: str  # the platform's dedupe key for this message
    chat_type: str = "private"  # private / group
    conversation_id: str | None = None
    received_at: datetime | None = None

    @property
    def in_group(self) -> bool:
        return self.chat_type == "group"


@dataclass(frozen=True)
class Button:
    label: str
    command: str | None = None  # text the member would send
    url: str | None = None


@dataclass(frozen=True)
class Card:
    title: str
    lines: tuple[str, ...] = ()
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """A file produced for the member (an export); channels send it or a signed link to it."""

    filename: str
    data: bytes
    mimetype: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class FileRef:
    """A file a reply promises: built after the message's transaction by `FILE_MAKERS[purpose](session, params)`
    (bot.web_files), then sent to the asker by the channel (bot.files), or a signed link to it."""

    purpose: str
    params: dict
    filename: str
    member_id: int  # who asked: a download link is bound to them


@dataclass(frozen=True)
class Reply:
    text: str = ""
    markdown: str | None = None
    card: Card | None = None
    file: FileRef | None = None  # sent to the asker alone, after the text
    private: bool = False  # must not be shown in a group chat: channels answer in private instead
    duplicate: bool = False  # a repeat of a message still being handled: channels answer with their empty ack
    repeat: bool = False  # the stored answer to a repeat of a handled message (its first answer was lost)

    @classmethod
    def of_duplicate(cls) -> Reply:
        return cls(duplicate=True)

    @property
    def is_empty(self) -> bool:
        return not (self.text or self.markdown or self.card or self.file)

    def as_text(self) -> str:
        """Plain-text rendering, for the console and for platforms without markdown or cards."""
        if self.text:
            return self.text
        if self.card:
            parts = [f"【{self.card.title}】", *self.card.lines]
            for b in self.card.buttons:
                parts.append(f"· {b.label}：" + (f"发送「{b.command}」" if b.command else (b.url or "")))
            return "\n".join(parts)
        if self.markdown:
            return self.markdown
        if self.file:
            return f"文件：{self.file.filename}"
        return ""
