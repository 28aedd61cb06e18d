"""kb ask / kb check / kb embed: the knowledge base alone, from its files (no database, no other handler)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from bot.commands.common import CommandError
from bot.intent import Segmenter

if TYPE_CHECKING:
    from handlers.knowledge import KnowledgeError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kb", help="知识问答：提问、检查知识库文件、更新句向量")
    kbsub = p.add_subparsers(dest="kb_command", required=True, metavar="子命令")
    ask = kbsub.add_parser("ask", help="只向知识库提问（不经过其他功能，不需要数据库）")
    ask.add_argument("--json", action="store_true", help="只输出前5条的 JSON 列表：id、topics、score")
    ask.add_argument("--dir", type=Path, default=None, help="知识库目录（默认用自带的 entries/）")
    ask.add_argument("text", nargs="+", help="问题")
    ask.set_defaults(func=cmd_ask)
    check = kbsub.add_parser("check", help="检查知识库文件的格式和字段")
    check.add_argument("--dir", type=Path, default=None, help="知识库目录（默认用自带的 entries/）")
    check.set_defaults(func=cmd_check)
    embed = kbsub.add_parser("embed", help="改了条目以后，重新计算自带知识库的句向量（约20秒）")
    embed.set_defaults(func=cmd_embed)


def _directory(arg: Path | None) -> Path:
    from handlers.knowledge.entries import ENTRIES_DIR

    directory = arg or ENTRIES_DIR
    if not directory.is_dir():
        raise CommandError(f"知识库目录不存在：{directory}")
    return directory


def _broken(err: KnowledgeError) -> CommandError:
    """The one line a command prints when the entry files do not load."""
    return CommandError(f"知识库文件有问题（共{len(err.problems)}处），请先运行 zhibu kb check：{err.problems[0]}")


def _load(directory: Path):
    from handlers.knowledge import KnowledgeBase, KnowledgeError

    try:  # the segmenter the bot itself runs with, so `zhibu kb ask` answers as the chat does
        return KnowledgeBase.load(Segmenter(), directory)
    except KnowledgeError as err:
        raise _broken(err) from None


def cmd_ask(args) -> int:
    from handlers.knowledge import kb_reply

    kb = _load(_directory(args.dir))
    text = " ".join(args.text)
    if args.json:
        hits = kb.search(text, 5)
        print(json.dumps([{"id": h.entry.id, "topics": list(h.entry.topics), "score": h.score} for h in hits],
                         ensure_ascii=False))
        return 0
    print(kb_reply(text, kb).as_text())
    return 0


def cmd_check(args) -> int:
    from handlers.knowledge import KnowledgeError, load_entries
    from handlers.knowledge.meaning import Vectors, engine_runs_here

    directory = _directory(args.dir)
    try:
        entries = load_entries(directory)
    except KnowledgeError as err:
        lines = [f"知识库有 {len(err.problems)} 处问题，请修改后再运行 zhibu kb check："]
        raise CommandError("\n".join(lines + [f"· {p}" for p in err.problems])) from None
    files = len({e.source for e in entries})
    topics = sorted({t.split(".")[0] for e in entries for t in e.topics})
    print(f"知识库检查通过：{files} 个文件，{len(entries)} 条，覆盖主题 {'、'.join(topics)}。")
    if args.dir is None and engine_runs_here():
        stale = len(Vectors.load().missing(entries))
        if stale:
            print(f"注意：有 {stale} 句问法或答案还没有句向量，请运行 zhibu kb embed（不运行也能回答，只是启动慢）。")
    return 0


def cmd_embed(args) -> int:
    from handlers.knowledge import KnowledgeError, load_entries
    from handlers.knowledge.meaning import VECTORS_FILE, Vectors, engine_runs_here, write

    if not engine_runs_here():
        raise CommandError("这台机器的处理器不支持 AVX2/FMA，算不了句向量。请在较新的机器上运行 zhibu kb embed，再把 vectors.npz 拷过来。")
    try:
        entries = load_entries()
    except KnowledgeError as err:
        raise _broken(err) from None
    vectors = Vectors.load()
    new = len(vectors.missing(entries))
    count = write(vectors, entries, VECTORS_FILE)
    print(f"句向量已更新：共 {count} 句，新算 {new} 句，写入 {VECTORS_FILE.name}。")
    return 0
