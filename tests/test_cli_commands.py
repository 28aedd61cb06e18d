"""Issue 25 item 12: the command line loads only what a command needs. `bot/cli.py` lists every command with the
module that defines it and its help line; this checks the list against the modules, and that answering a simple
message never loads the Excel, pinyin, jieba or migration code."""
import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

from bot.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted({module for module, _ in COMMANDS.values()})


def registered() -> dict[str, tuple[str, str]]:
    out = {}
    for module in MODULES:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(f"bot.commands.{module}").register(sub)
        for action in sub._choices_actions:
            out[action.dest] = (module, action.help)
    return out


def test_the_command_table_matches_the_modules():
    assert registered() == COMMANDS
    listed = {p.stem for p in (ROOT / "bot" / "commands").glob("*.py")} - {"__init__", "common", "delivery"}
    assert listed == set(MODULES)  # a new command module is in the table too


def test_every_command_parses_with_only_its_own_module():
    for name in COMMANDS:
        parser = build_parser(name)
        assert name in parser._subparsers._group_actions[0].choices


def test_a_simple_message_loads_no_heavy_module(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    env["ZHIBU_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    env["PYTHONPATH"] = str(ROOT)
    subprocess.run([sys.executable, "-m", "bot.cli", "demo"], cwd=tmp_path, env=env, check=True, capture_output=True,
                   timeout=300)
    probe = ("import io, json, sys, contextlib\n"
             "from bot.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
             "    code = main(sys.argv[1:])\n"
             "print(json.dumps({'code': code, 'reply': out.getvalue(),\n"
             "                  'loaded': sorted({m.split('.')[0] for m in sys.modules})}))\n")
    for text in ("帮助", "我的党费", "我这个月党费交了吗"):
        done = subprocess.run([sys.executable, "-c", probe, "say", "--as", "demo-dangyuan", text], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)
        result = json.loads(done.stdout.splitlines()[-1])
        assert result["code"] == 0 and result["reply"].strip(), done.stderr
        heavy = {"openpyxl", "pypinyin", "jieba", "alembic", "mako", "pygments", "yaml", "docx", "qrcode", "flask",
                 "apscheduler", "wechatpy"} & set(result["loaded"])
        assert heavy == set(), (text, heavy)
