"""The console channel: `zhibu say` and `zhibu chat` talk to the same router as WeCom and DingTalk."""
from __future__ import annotations

import uuid
from pathlib import Path

from bot.messages import Incoming, Reply
from bot.router import Router, not_registered_text
from storage.members import find_by_platform_id

PLATFORM = "console"


def incoming(user_id: str, text: str) -> Incoming:
    # every console line is its own message: two identical `say` calls are two messages
    return Incoming(platform=PLATFORM, user_id=user_id, text=text, message_id=uuid.uuid4().hex)


def say(router: Router, user_id: str, text: str) -> tuple[str, int]:
    """The reply text and the exit code (2 when the bot does not know the id: not in the roster, and not a person in
    the 发展 pipeline it answers as a guest). A file the reply brings is saved under the export directory
    (ZHIBU_EXPORT_DIR, never over an earlier file) and its path is the reply's last line."""
    message = incoming(user_id, text)
    reply: Reply = router.handle(message)
    out = reply.as_text()
    if reply.file is not None and not reply.repeat:
        out += "\n" + save_file(router, reply)
    return out, (2 if reply.text == not_registered_text(message) else 0)


def save_file(router: Router, reply: Reply) -> str:
    from bot.files import FileGone, save_export

    files = router.services.files
    if files is None:
        return "（这个环境不能生成文件）"
    try:
        attachment = files.build(reply.file)
    except FileGone as err:
        return f"{reply.file.filename}没有生成：{err}。"
    try:
        return str(save_export(attachment, Path(router.services.settings.export_dir)).resolve())
    except OSError as err:
        return f"文件没能保存（{type(err).__name__}）：请检查 ZHIBU_EXPORT_DIR 指向的目录是否可写。"


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
