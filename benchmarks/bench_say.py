"""`zhibu say` in a cold process, as a first-time user meets it: the median wall time of `zhibu say --as
demo-dangyuan 帮助` against `zhibu --help` (the process, Python and argparse, nothing of the bot) in the same run.

Each run is a new process on a demo database in a scratch directory, the two commands taking turns so that a busy
machine slows both alike. Bytecode is written as on any installed machine (a sandbox that sets
PYTHONDONTWRITEBYTECODE would otherwise recompile every module of the project on every run), after one warm-up run.
Two more messages are timed for the record, without a target: a dues question (still no jieba) and a procedure
question (the knowledge base loads jieba, pypinyin and builds its index on the first question of a process).
"""
from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import Figure

RUNS = int(os.environ.get("BENCH_SAY_RUNS", "11"))
ROOT = Path(__file__).resolve().parent.parent


def zhibu_command() -> list[str]:
    script = Path(sys.executable).with_name("zhibu")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


CPU: list[float] = []  # the CPU seconds (user + system) of each timed run, in order


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr[-500:]}")
    return elapsed


def main() -> list[Figure]:
    zhibu = zhibu_command()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_") and k != "PYTHONDONTWRITEBYTECODE"}
        env["ZHIBU_DATABASE_URL"] = f"sqlite:///{folder / 'bench.db'}"
        env["PYTHONPATH"] = str(ROOT)  # this checkout's packages, whichever copy the venv installed
        subprocess.run([*zhibu, "demo"], cwd=folder, env=env, check=True, capture_output=True, timeout=300)
        say = [*zhibu, "say", "--as", "demo-dangyuan"]
        _timed([*say, "帮助"], folder, env)  # warm-up: bytecode written once, as after an install
        helps, says, say_cpu = [], [], []
        for _ in range(RUNS):
            helps.append(_timed([*zhibu, "--help"], folder, env))
            says.append(_timed([*say, "帮助"], folder, env))
            say_cpu.append(CPU[-1])
        dues = statistics.median(_timed([*say, "我的党费"], folder, env) for _ in range(max(3, RUNS // 3)))
        kb = statistics.median(_timed([*say, "预备期多长"], folder, env) for _ in range(3))
        shutil.rmtree(folder / "__pycache__", ignore_errors=True)
    said, helped = statistics.median(says), statistics.median(helps)
    return [
        Figure(f"zhibu say --as demo-dangyuan 帮助, cold process, median of {RUNS}", said, "s", helped,
               "zhibu --help", "≤ 0.8 s"),
        Figure("zhibu --help, cold process (the floor: Python and argparse)", helped, "s"),
        Figure("CPU time (user + system) of zhibu say … 帮助, median: the wall time on an idle machine",
               statistics.median(say_cpu), "s"),
        Figure("zhibu say … 我的党费 (own dues), cold process, median", dues, "s", helped, "zhibu --help"),
        Figure("zhibu say … 预备期多长 (first procedure question: jieba, pypinyin, index), median of 3", kb, "s",
               helped, "zhibu --help"),
    ]
