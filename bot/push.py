"""Proactive messages. Each channel provides a Pusher; the outbox chooses one per recipient."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.messages import Attachment, Reply
from storage.models import Member, Organization


@dataclass(frozen=True)
class PushResult:
    ok: bool
    retry: bool = False  # a temporary failure (rate limit, timeout): try again later
    error: str = ""  # kept on the outbox row; never contains secrets


class Pusher(Protocol):
    platform: str

    def push(self, user_id: str, reply: Reply, dedupe_key: str) -> PushResult:
        """Send one message to one platform user; `dedupe_key` feeds the platform's own duplicate guard."""
        ...

    def send_file(self, user_id: str, attachment: Attachment, dedupe_key: str) -> PushResult:
        """Send a file to one platform user alone (never a group). A failure (platform error, over the platform's
        size limit, a member it cannot reach) is a result, not an exception: bot.files then sends a link."""
        ...


def platform_account(member: Member, platform: str) -> str | None:
    return {"wecom": member.wecom_userid, "dingtalk": member.dingtalk_userid,
            "console": member.wecom_userid or member.dingtalk_userid}.get(platform)


def choose_platform(member: Member, org: Organization | None, available: set[str]) -> str | None:
    """The platform the member last wrote from, else the organisation's default channel, else any that reaches them."""
    candidates = [member.last_platform, (org.settings or {}).get("default_channel") if org else None,
                  "wecom", "dingtalk", "console"]
    for platform in candidates:
        if platform and platform in available and platform_account(member, platform):
            return platform
    return None


class ConsolePusher:
    """Prints pushes: the demo and `zhibu chat` have no platform to push to."""

    platform = "console"

    def __init__(self, write=print, export_dir: Path | str = "exports") -> None:
        self.write = write
        self.export_dir = Path(export_dir)

    def push(self, user_id: str, reply: Reply, dedupe_key: str) -> PushResult:
        self.write(f"［推送给 {user_id}］\n{reply.as_text()}")
        return PushResult(ok=True)

    def send_file(self, user_id: str, attachment: Attachment, dedupe_key: str) -> PushResult:
        from bot.files import save_export

        try:
            path = save_export(attachment, self.export_dir)
        except OSError as err:
            return PushResult(ok=False, error=f"保存文件失败（{type(err).__name__}）")
        self.write(f"［文件给 {user_id}］\n{path}")
        return PushResult(ok=True)
