"""The console channel: `zhibu say` and `zhibu chat` talk to the same router as WeCom and DingTalk."""
from __future__ import annotations

import uuid

from bot.messages import Incoming, Reply
from bot.router import Router, not_registered_text
from storage.members import find_by_platform_id

PLATFORM = "console"


def incoming(user_id: str, text: str) -> Incoming:
    # every console line is its own message: two identical `say` calls are two messages
    return Incoming(platform=PLATFORM, user_id=user_id, text=text, message_id=uuid.uuid4().hex)


def say(router: Router, user_id: str, text: str) -> tuple[str, int]:
    """The reply text and the exit code (2 when the id is not in the roster)."""
    registered = is_registered(router, user_id)
    reply: Reply = router.handle(incoming(user_id, text))
    return reply.as_text(), (0 if registered else 2)


def is_registered(router: Router, user_id: str) -> bool:
    with router.sessions() as session:
        return find_by_platform_id(session, PLATFORM, user_id) is not None


def chat(router: Router, user_id: str, read=input, write=print) -> int:
    if not is_registered(router, user_id):
        write(not_registered_text(incoming(user_id, "")))
        return 2
    router.services.segmenter.warm()
    write(f"已以 {user_id} 的身份进入对话。输入「帮助」看看能做什么，输入「退出」或按 Ctrl-D 结束。")
    while True:
        try:
            line = read("我> ")
        except (EOFError, KeyboardInterrupt):
            write("")
            return 0
        if line.strip() in ("退出", "exit", "quit"):
            return 0
        if not line.strip():
            continue
        text, _ = say(router, user_id, line)
        write(f"支部助手> {text}")
