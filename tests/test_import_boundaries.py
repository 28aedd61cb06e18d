"""The house's boundaries: handlers know only the core's small API, storage imports nothing above it, the Party rules
do no I/O. Checked on the code as it is, so a stray import fails here rather than in a review."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_FOR_HANDLERS = ("flask", "werkzeug", "wechatpy", "dingtalk_stream", "requests", "psycopg", "sqlite3",
                          "_sqlite3", "bot.channels", "bot.app", "bot.web_signin", "bot.web_files", "bot.runtime")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_importing_every_handler_loads_no_web_framework_channel_or_driver():
    code = ("import importlib, pkgutil, sys, handlers\n"
            "for m in pkgutil.walk_packages(handlers.__path__, 'handlers.'):\n"
            "    importlib.import_module(m.name)\n"
            "print('\\n'.join(sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = loaded.stdout.split()
    assert "handlers.checkin" in modules  # the walk really imported the handlers
    bad = [m for m in modules if m.startswith(FORBIDDEN_FOR_HANDLERS) and
           any(m == f or m.startswith(f + ".") for f in FORBIDDEN_FOR_HANDLERS)]
    assert bad == []


def test_storage_imports_nothing_above_it():
    for path in (ROOT / "storage").rglob("*.py"):
        upward = {m for m in _imports(path) if m.split(".")[0] in ("bot", "handlers", "reminders")}
        assert not upward, f"{path.relative_to(ROOT)} imports {sorted(upward)}"


def test_the_reminder_rules_do_no_io():
    """The rules are pure functions of a branch's state and a date: importing them loads no database or network."""
    code = "import sys, reminders.rules\nprint('\\n'.join(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    io = [m for m in loaded.stdout.split() if m.split(".")[0] in ("sqlalchemy", "requests", "psycopg", "sqlite3",
                                                                 "flask", "apscheduler") or m == "storage.models"]
    assert io == []


# What `zhibu say … 帮助` must not load: each of these loads with the first message (or command) that needs it.
LOADED_WHEN_NEEDED = ("reminders", "handlers.knowledge.index", "handlers.knowledge.text", "handlers.signin_text",
                      "handlers.amounts", "storage.names", "requests", "urllib3", "yaml", "openpyxl", "docx", "jinja2",
                      "jieba", "pypinyin", "flask", "wechatpy")


def test_a_simple_message_loads_neither_the_rules_nor_the_index_nor_http():
    """Registering every handler and making the console's pushers (no platform configured) is all a simple message
    needs before its one query: the Party rules, the knowledge index, HTTP and file formats wait for their message."""
    code = ("import sys\n"
            "from bot.channels import make_pushers\n"
            "from bot.router import Router\n"
            "from bot.settings import load_settings\n"
            "from handlers import register_all\n"
            "import bot.commands.core\n"
            "settings = load_settings(env={}, dotenv=None)\n"
            "assert 'dingtalk_group' in make_pushers(settings, None, None)\n"
            "register_all(Router(None, None))\n"
            "print('\\n'.join(sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = loaded.stdout.split()
    assert "handlers.selfcheck" in modules and "bot.channels.dingtalk.push" in modules  # the code really ran
    early = [m for m in modules if any(m == p or m.startswith(p + ".") for p in LOADED_WHEN_NEEDED)]
    assert early == []
