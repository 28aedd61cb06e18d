"""The scheduler process (`zhibu scheduler`): APScheduler only triggers; the database holds all the state.

Jobs, every trigger in the configured time zone (ZHIBU_TIMEZONE, Asia/Shanghai by default):
- plan: at start-up and daily at 08:00: reminders.planner.plan_day writes outbox rows (idempotent by dedupe key), the
  day and the rules' times in that same zone;
- dispatch: every minute: the outbox dispatcher sends what is due;
- heartbeat: every minute: a service_heartbeats row that /readyz and operators watch;
- prune: daily at 03:30: message keys kept for dedupe (processed_messages) older than a week are removed.

coalesce=True and a misfire grace time: after a pause (machine asleep, a long job) a job runs once, not once per
missed tick. Planning catches up by itself, so a machine that was off simply plans at start-up. Two scheduler
processes are safe: planning is idempotent and the dispatcher's claim never hands one row to both.
It is started only by `zhibu scheduler`, never by the web app's workers.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from reminders.outbox import Dispatcher
from reminders.planner import plan_day
from storage.db import transaction
from storage.heartbeats import SCHEDULER
from storage.heartbeats import beat as record_beat
from storage.processed import prune_seen

log = logging.getLogger(__name__)

HEARTBEAT_NAME = SCHEDULER
PLAN_AT = (8, 0)
PRUNE_AT = (3, 30)  # a quiet hour: nobody is signing in
PLAN_GRACE_S = 6 * 3600  # a plan missed by a few hours still runs once
MINUTE_GRACE_S = 50  # a minute job late by more than this just waits for its next tick

PlanDay = Callable[[sessionmaker[Session], date, tzinfo], object]


def beat(sessions: sessionmaker[Session], now: datetime, name: str = HEARTBEAT_NAME) -> None:
    with transaction(sessions) as session:
        record_beat(session, name, now)


class SchedulerJobs:
    """The jobs as plain methods, so tests can run them without a scheduler."""

    def __init__(self, sessions: sessionmaker[Session], dispatcher: Dispatcher, clock: Callable[[], datetime],
                 tz: tzinfo, plan_day: PlanDay = plan_day, keep_keys: timedelta = timedelta(days=7)) -> None:
        self.sessions = sessions
        self.keep_keys = keep_keys  # ZHIBU_DEDUPE_DAYS
        self.dispatcher = dispatcher
        self.clock = clock
        self.tz = tz
        self.plan_day = plan_day

    def plan(self) -> None:
        today = self.clock().astimezone(self.tz).date()
        result = self.plan_day(self.sessions, today, self.tz)
        log.info("planned %s: %s", today, result.summary())  # counts only: the Dues name members

    def dispatch(self) -> None:
        report = self.dispatcher.dispatch()
        if report.outcomes:
            log.info("dispatch: %s", report.summary())
        for o in report.of("failed"):
            log.warning("push %s to %s failed: %s", o.dedupe_key, o.recipient, o.error)

    def heartbeat(self) -> None:
        beat(self.sessions, self.clock())

    def prune(self) -> None:
        removed = prune_seen(self.sessions, self.clock(), self.keep_keys)
        if removed:
            log.info("forgot %d message keys older than the dedupe window", removed)


def build_scheduler(jobs: SchedulerJobs, tz: tzinfo, start_now: datetime | None = None) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=tz)
    now = start_now or datetime.now(tz)
    once = {"coalesce": True, "max_instances": 1}
    scheduler.add_job(jobs.heartbeat, IntervalTrigger(minutes=1, timezone=tz), id="heartbeat", name="心跳",
                      next_run_time=now, misfire_grace_time=MINUTE_GRACE_S, **once)
    # planning first at start-up (catching up whatever a stopped server missed), then daily at 08:00
    scheduler.add_job(jobs.plan, CronTrigger(hour=PLAN_AT[0], minute=PLAN_AT[1], timezone=tz), id="plan",
                      name="规划提醒", next_run_time=now, misfire_grace_time=PLAN_GRACE_S, **once)
    scheduler.add_job(jobs.dispatch, IntervalTrigger(minutes=1, timezone=tz), id="dispatch", name="发送提醒",
                      next_run_time=now, misfire_grace_time=MINUTE_GRACE_S, **once)
    scheduler.add_job(jobs.prune, CronTrigger(hour=PRUNE_AT[0], minute=PRUNE_AT[1], timezone=tz), id="prune",
                      name="清理消息记录", misfire_grace_time=PLAN_GRACE_S, **once)
    return scheduler
