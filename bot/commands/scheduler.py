"""zhibu scheduler: the one process that plans and sends reminders (never started inside web workers)."""
from __future__ import annotations

import argparse
import logging
import signal
from datetime import timedelta

from bot.commands.common import runtime


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scheduler", help="启动提醒调度进程（每天 8:00 规划提醒，每分钟发送到期提醒）")
    p.set_defaults(func=cmd_scheduler)


def _stop(signum, frame):
    raise SystemExit(0)


def cmd_scheduler(args) -> int:
    from reminders.outbox import dispatcher_for
    from reminders.scheduler import SchedulerJobs, build_scheduler

    logging.getLogger("reminders").setLevel(logging.INFO)
    with runtime(service=True) as rt:
        tz = rt.settings.tz
        jobs = SchedulerJobs(rt.sessions, dispatcher_for(rt.sessions, rt.services), rt.services.clock, tz,
                             keep_keys=timedelta(days=rt.settings.dedupe_days))
        scheduler = build_scheduler(jobs, tz)
        signal.signal(signal.SIGTERM, _stop)
        print(f"提醒调度已启动（{rt.settings.timezone}）：每天 8:00 规划，每分钟发送；Ctrl+C 停止。", flush=True)
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=True)
        print("提醒调度已停止。", flush=True)
    return 0
