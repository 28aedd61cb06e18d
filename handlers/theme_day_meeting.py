"""The regular 主题党日 as a meeting row, made from the branch's day rule when someone needs it before anyone typed 安排.

`本月安排` and the reminders already announce the rule's day; a 请假 for it needs a meeting to hang on. The row is made
once (status scheduled, no creator: the rule made it), at the branch's 主题党日时间 and 主题党日地点 (09:00 and no place
when not set), so a later `安排 主题党日` that day moves it to the real time and place, and `发起签到 主题党日` that
day opens it instead of making a second one.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from bot.core import Context, UserError
from storage.meetings import OPENS_BEFORE, WINDOW, MeetingError, create_meeting
from storage.models import Meeting, MeetingKind, Organization
from storage.months import add_months
from storage.org_settings import SPECS, get_setting

THEME = "主题党日"


def rule_days(ctx: Context, org: Organization, months: list[date]) -> list[date | None]:
    """Each month's 主题党日 by the branch's rule; None for a month whose 主题党日 is already a meeting row (it keeps
    its own date) and for an organisation that is not a 党支部."""
    from reminders.rules import theme_date
    from reminders.state import load_calendar, load_states
    from reminders.workdays import Calendar

    states = load_states(ctx.session, ctx.today, [org.id], ctx.settings.tz, dues=False)
    if not states:
        return [None] * len(months)
    cal = Calendar(load_calendar(ctx.session))
    out: list[date | None] = []
    for month in months:
        day, explicit = theme_date(states[0], month.year, month.month, cal)
        out.append(None if explicit else day)
    return out


def rule_start(ctx: Context, day: date, org: Organization | None = None) -> datetime:
    """The rule's 主题党日 on `day` starts at the branch's 主题党日时间 (the setting's default without `org`)."""
    hour, minute = (int(x) for x in (get_setting(org, "theme_day_time") if org is not None
                                     else SPECS["theme_day_time"].default).split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=ctx.settings.tz)


def next_rule_day(ctx: Context, org: Organization) -> date | None:
    """The coming 主题党日 by the rule, not started yet: this month's, else next month's."""
    first = ctx.today.replace(day=1)
    for day in rule_days(ctx, org, [first, add_months(first, 1)]):
        if day is not None and rule_start(ctx, day, org) > ctx.now:
            return day
    return None


def rule_day_on(ctx: Context, org: Organization, day: date) -> bool:
    """`day` is the branch's 主题党日 by the rule (and no 主题党日 meeting is recorded in its month)."""
    return rule_days(ctx, org, [day.replace(day=1)])[0] == day


def ensure_rule_meeting(ctx: Context, org: Organization, day: date) -> Meeting:
    """The 主题党日 meeting of `org` on `day`: the one there is, else one made from the rule."""
    tz = ctx.settings.tz
    start = datetime.combine(day, time(0), tzinfo=tz)
    found = ctx.session.scalars(select(Meeting).where(
        Meeting.organization_id == org.id, Meeting.starts_at >= start, Meeting.starts_at < start + timedelta(days=1),
        Meeting.id.in_(select(MeetingKind.meeting_id).where(MeetingKind.kind == THEME)))
        .order_by(Meeting.starts_at)).first()
    if found is not None:
        return found
    starts_at = rule_start(ctx, day, org)
    try:
        meeting = create_meeting(ctx.session, org=org, kinds=[THEME], starts_at=starts_at,
                                 opens_at=starts_at - OPENS_BEFORE, closes_at=starts_at + WINDOW, title=None,
                                 place=get_setting(org, "theme_day_place") or None, creator=None, invited=(),
                                 status="scheduled", now=ctx.now)
    except MeetingError as err:
        raise UserError(str(err)) from None
    ctx.audit("meeting.from_rule", org.name, meeting_id=meeting.id, starts_at=starts_at.isoformat())
    return meeting
