"""Kill dispatcher processes with SIGKILL at random points, restart them, and check every push arrived once.

The harness only needs a push target: a pusher factory the worker process can import (called with the target URL)
and a way to read back what each member saw. Point it at the recording push server (tests/fakes/) or at a fake
WeCom / DingTalk server by passing another PushTarget, for example:

    def make_wecom_pusher(api_base):  # in a module the worker can import; ZHIBU_DATABASE_URL is set for it
        return WecomPusher(load_settings({... "ZHIBU_WECOM_API_BASE": api_base ...}), ...)

    target = PushTarget(url=fake.url, pusher_factory="tests.fakes.crash_targets:make_wecom_pusher",
                        deliveries=lambda: [(m.touser, m.content) for m in fake.delivered()])

Workers are forked from one pre-imported parent (see tests/fakes/dispatch_worker.py --zygote), so twenty restarts
cost twenty forks rather than twenty Python start-ups.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PushTarget:
    url: str  # handed to the factory inside the worker
    pusher_factory: str  # "module:function", called with url, returns a Pusher
    deliveries: Callable[[], list[tuple[str, str]]]  # (platform user id, text) for every message a member saw
    guard_drops: Callable[[], int] = lambda: 0  # sends the platform's duplicate guard swallowed


@dataclass
class CrashReport:
    kills: int = 0
    forced_after_push: int = 0  # kills placed right after an accepted push, before it was marked sent
    exits: list[int] = field(default_factory=list)


def worker_command(db_url: str, target: PushTarget, lease_s: float, kill_after_push: int = 0) -> list[str]:
    cmd = [sys.executable, "-m", "tests.fakes.dispatch_worker", "--db", db_url, "--pusher", target.pusher_factory,
           "--target", target.url, "--lease", str(lease_s)]
    if kill_after_push:
        cmd += ["--kill-after-push", str(kill_after_push)]
    return cmd


def start_worker(db_url: str, target: PushTarget, lease_s: float, kill_after_push: int = 0) -> subprocess.Popen:
    proc = subprocess.Popen(worker_command(db_url, target, lease_s, kill_after_push), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise RuntimeError(f"worker did not start: {line!r} {proc.stderr.read()[-2000:]}")
    return proc


class Zygote:
    """One pre-imported worker parent that forks each dispatcher (see tests/fakes/dispatch_worker.py)."""

    def __init__(self, target: PushTarget) -> None:
        self.target = target
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.dispatch_worker", "--zygote",
                                      target.pusher_factory.partition(":")[0]], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if self._line() != "zygote":
            raise RuntimeError("dispatch worker parent did not start")

    def _line(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("dispatch worker parent ended")
        return line.strip()

    def start(self, db_url: str, lease_s: float, kill_after_push: int = 0) -> int:
        argv = worker_command(db_url, self.target, lease_s, kill_after_push)[3:]
        self.proc.stdin.write(json.dumps(argv) + "\n")
        self.proc.stdin.flush()
        line = self._line()
        if not line.startswith("pid "):
            raise RuntimeError(f"unexpected answer: {line!r}")
        return int(line.split()[1])

    def wait(self) -> int:
        line = self._line()
        if not line.startswith("exit "):
            raise RuntimeError(f"unexpected answer: {line!r}")
        return int(line.split()[1])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


def run_crash_trials(db_url: str, target: PushTarget, trials: int = 20, seed: int = 1, lease_s: float = 0.3,
                     window_s: tuple[float, float] = (0.0, 0.15), forced_every: int = 4) -> CrashReport:
    """`trials` SIGKILLs at random points (every `forced_every`-th one right after an accepted push), then one
    dispatcher runs to completion."""
    rng = random.Random(seed)
    report = CrashReport()
    zygote = Zygote(target)
    try:
        for i in range(trials):
            forced = forced_every and i % forced_every == forced_every - 1
            pid = zygote.start(db_url, lease_s, kill_after_push=rng.randint(1, 6) if forced else 0)
            if not forced:
                time.sleep(rng.uniform(*window_s))
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:  # it had already finished
                    pass
            code = zygote.wait()
            report.forced_after_push += bool(forced) and code == -signal.SIGKILL
            report.kills += code == -signal.SIGKILL
            report.exits.append(code)
        zygote.start(db_url, lease_s)
        code = zygote.wait()
        if code != 0:
            raise RuntimeError(f"final dispatcher failed with exit code {code}")
    finally:
        zygote.close()
    return report


def duplicates(deliveries: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    return {k: n for k, n in Counter(deliveries).items() if n > 1}
