"""A dispatcher process for crash tests: what `zhibu remind send` and the scheduler's dispatch job do, in a loop.

python -m tests.fakes.dispatch_worker --db URL --pusher module:factory --target URL [--lease S] [--kill-after-push N]

The pusher factory is called with the target URL and returns a Pusher, so the same worker drives the recording
push server or a fake WeCom / DingTalk server. It dispatches until no row is pending or in flight, then exits 0.
--kill-after-push N: SIGKILL itself right after the Nth push was accepted, before the result is recorded (the
window where only the platform's duplicate guard prevents a double push).

python -m tests.fakes.dispatch_worker --zygote MODULE: imports everything once, then for each JSON argument list
read on stdin forks a fresh dispatcher process and reports `pid N` and `exit CODE`; restarting twenty killed
dispatchers then costs a fork each instead of a Python start-up each.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import time
from datetime import timedelta

from sqlalchemy import func, select

from reminders.outbox import Dispatcher, DispatchPolicy
from storage.db import make_engine, make_session_factory
from storage.models import OutboxMessage, utcnow


def load_factory(spec: str):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


class KillAfter:
    def __init__(self, pusher, n: int) -> None:
        self.inner, self.left, self.platform = pusher, n, pusher.platform

    def push(self, user_id, reply, dedupe_key):
        result = self.inner.push(user_id, reply, dedupe_key)
        self.left -= 1
        if self.left <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
        return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--pusher", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--lease", type=float, default=0.5)
    p.add_argument("--batch", type=int, default=5)
    p.add_argument("--kill-after-push", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    os.environ["ZHIBU_DATABASE_URL"] = args.db  # for factories that build a pusher from load_settings()
    pusher = load_factory(args.pusher)(args.target)
    if args.kill_after_push:
        pusher = KillAfter(pusher, args.kill_after_push)
    engine = make_engine(args.db)
    sessions = make_session_factory(engine)
    policy = DispatchPolicy(batch_size=args.batch, lease=timedelta(seconds=args.lease), max_attempts=1000,
                            backoff_base=timedelta(milliseconds=50), backoff_cap=timedelta(milliseconds=200))
    dispatcher = Dispatcher(sessions, {pusher.platform: pusher}, utcnow, policy)
    if not args.quiet:
        print("ready", flush=True)
    while True:
        dispatcher.dispatch()
        with sessions() as session:
            open_rows = session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status.in_(("pending", "in_flight"))))
        if not open_rows:
            return 0
        time.sleep(0.05)  # rows waiting for a back-off or for a dead dispatcher's lease


def zygote(preload: str) -> int:
    importlib.import_module(preload)
    print("zygote", flush=True)
    for line in sys.stdin:
        argv = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child: a fresh dispatcher with its own database connections
            code = 70
            try:
                code = main([*argv, "--quiet"])
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--zygote":
        sys.exit(zygote(sys.argv[2]))
    sys.exit(main())
