"""What is due for one branch on one date: pure functions of an `OrgState` value and a date.

A rule answers "what should have gone out by this date and is still relevant", not "what falls on exactly this
date": planning on any day also covers what a stopped server missed, and a branch imported mid-cycle still gets
the reminders whose deadlines have not passed. A `Due` is included on day D when its due date is on or before D
and `relevant_until` is after the start of D.

Reminders follow the records: a meeting already recorded (scheduled or held) for the month or quarter silences
its reminder; a meeting with several kinds counts for each.

Notices due on a non-working day go out on the previous working day; deadlines (a term's end) never move.
Dates and times are those of the branch's time zone, `OrgState.tz`: the configured ZHIBU_TIMEZONE, which callers
pass in (Asia/Shanghai, DEFAULT_TZ, is only its default).

Outbox content (what the planner stores per recipient, what the dispatcher sends):
    {"text": "...", "title": "...", "kind": "<kind>"}            plus "letter": true on the T−6 months term_expiry,
where the dispatcher attaches the 换届提醒函. Every row's dedupe key is the Due's key plus ":" and the recipient's
account (e.g. `term_expiry:第一党支部:2027-06-15:T-6m:demo-shuji`). `due_at` is when to send; a row still unsent at
`relevant_until` is stale (the next stage, or the event itself, has come) and should not be sent any more.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from reminders import workdays
from reminders.durations import time_left
from storage.months import (  # add_months: also taken from here by the reminders' callers
    ALERT_MONTHS,
    ESCALATE_MONTHS,
    add_months,
    add_years,
    consecutive_unpaid,
    previous_month,
)

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")  # ZHIBU_TIMEZONE's default; callers pass the configured zone (settings.tz)
NOTICE_AT = time(8, 0)  # notices go out in the morning, after the daily planning run

KINDS = ("theme_day", "political_birthday", "dues_collection", "committee_meeting", "group_meeting",
         "general_meeting", "party_lecture", "org_life_meeting", "term_expiry", "term_overdue", "dues_arrears",
         "dues_rebase", "probation_due", "development")
TITLES = {
    "theme_day": "主题党日通知", "political_birthday": "政治生日", "dues_collection": "党费收缴提醒",
    "committee_meeting": "支委会提醒", "group_meeting": "党小组会提醒", "general_meeting": "党员大会提醒",
    "party_lecture": "党课提醒", "org_life_meeting": "组织生活会提醒", "term_expiry": "换届提醒",
    "term_overdue": "换届逾期", "dues_arrears": "党费欠缴提醒", "dues_rebase": "党费基数核定",
    "probation_due": "预备党员转正提醒",
    "development": "发展党员提醒",  # reminders/development_rules.py
}
WEEKDAY_CN = "一二三四五六日"


# --- the state a rule reads ---------------------------------------------------------------------------------------
class Person(NamedTuple):  # a tuple: a planning run builds hundreds of thousands of these
    id: int
    name: str
    userid: str | None  # the 企业微信 account, else the 钉钉 account
    category: str = "正式"  # 正式 / 预备
    joined_on: date | None = None

    @property
    def account(self) -> str:
        return self.userid or f"member-{self.id}"


class MeetingRecord(NamedTuple):
    day: date  # local date of the meeting
    kinds: frozenset[str]
    starts: datetime | None = None  # local start time, where the record has one
    held: bool = False  # its sign-in has opened (going on, or closed) or it was recorded: under way or over
    place: str | None = None


@dataclass(frozen=True)
class Term:
    elected_on: date
    term_years: int
    ends_on: date


@dataclass(frozen=True)
class GroupState:
    """A 党小组 under the branch: its leaders and its own meetings."""

    name: str
    leaders: tuple[Person, ...]
    meetings: tuple[MeetingRecord, ...] = ()


@dataclass(frozen=True)
class OrgState:
    org_id: int
    name: str
    settings: Mapping[str, Any]
    members: tuple[Person, ...]  # active members of the branch
    roles: Mapping[str, tuple[Person, ...]]  # role name → holders in this branch
    upper_admins: tuple[Person, ...] = ()  # 上级管理员 of the nearest ancestor that has one
    term: Term | None = None  # the current committee term
    meetings: tuple[MeetingRecord, ...] = ()  # the branch's meetings around the date
    groups: tuple[GroupState, ...] = ()
    paid: Mapping[int, AbstractSet[str]] = field(default_factory=dict)  # member id → months paid (YYYY-MM)
    dues_since: str | None = None  # the first month the branch recorded dues; arrears are counted from there
    rated: frozenset[tuple[int, int]] = frozenset()  # (member id, year) with the year's dues amount fixed
    # 预备党员 whose 预备期 a 发展党员 record follows: their 转正 reminders come from it (reminders/development_rules.py)
    followed: frozenset[int] = frozenset()
    tz: tzinfo = DEFAULT_TZ  # the zone whose dates and 08:00 the rules mean (ZHIBU_TIMEZONE)

    def holders(self, *role_names: str) -> list[Person]:
        out: dict[int, Person] = {}
        for r in role_names:
            for p in self.roles.get(r, ()):
                out.setdefault(p.id, p)
        return list(out.values())

    def secretary(self) -> list[Person]:
        """The 书记; without one, the 副书记 (a branch must never miss a deadline for want of a title)."""
        return self.holders("书记") or self.holders("副书记") or self.holders("组织委员")

    def at(self, d: date, t: time = NOTICE_AT) -> datetime:
        return at(d, self.tz, t)

    def midnight(self, d: date) -> datetime:
        return midnight(d, self.tz)


class Due(NamedTuple):  # a tuple too: a heavy day has one per member
    key: str  # stable: the outbox key is this plus ":" + the recipient's account
    kind: str
    organization: str
    recipients: tuple[Person, ...]
    due_at: datetime  # aware, in the branch's time zone
    relevant_until: datetime
    text: str
    letter: bool = False  # the dispatcher attaches the 换届提醒函

    def content(self) -> dict[str, Any]:
        body: dict[str, Any] = {"text": self.text, "title": TITLES[self.kind], "kind": self.kind}
        if self.letter:
            body["letter"] = True
        return body

    def row_key(self, person: Person) -> str:
        return f"{self.key}:{person.account}"


# --- small date helpers -------------------------------------------------------------------------------------------
def at(d: date, tz: tzinfo, t: time = NOTICE_AT) -> datetime:
    """`d` at `t` in the time zone `tz`: when a notice goes out."""
    return datetime.combine(d, t, tzinfo=tz)


def midnight(d: date, tz: tzinfo) -> datetime:
    """The start of `d` in the time zone `tz`."""
    return datetime.combine(d, time(0), tzinfo=tz)


def month_start(y: int, m: int) -> date:
    return date(y, m, 1)


def next_month_start(y: int, m: int) -> date:
    return date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)


def cn(d: date) -> str:
    return f"{d.month}月{d.day}日（周{WEEKDAY_CN[d.weekday()]}）"


def quarter_of(d: date) -> int:
    return (d.month - 1) // 3 + 1


def notice_day(d: date, cal: workdays.Calendar) -> date:
    """A notice due on a non-working day goes out on the previous working day."""
    return cal.previous(d)


def months_around(d: date, before: int = 1, after: int = 1) -> list[tuple[int, int]]:
    out = []
    for k in range(-before, after + 1):
        x = add_months(date(d.year, d.month, 1), k)
        out.append((x.year, x.month))
    return out


def recorded(meetings: Iterable[MeetingRecord], kind: str, start: date, end: date) -> bool:
    """A meeting of `kind` recorded in [start, end)."""
    return any(kind in m.kinds and start <= m.day < end for m in meetings)


# --- what a period requires: the one definition the reminders and the 党委's overview share ----------------------
MONTH, QUARTER, YEAR = "month", "quarter", "year"


def required_kinds(state: OrgState, period: str) -> tuple[str, ...]:
    """The meeting kinds a branch must hold in each period of this kind: monthly 主题党日, 支委会 (where there is a
    committee term) and 党小组会 (where there are 党小组); quarterly 党员大会 and 党课; yearly 组织生活会 and 民主评议."""
    if period == MONTH:
        return ("主题党日", *(("支委会",) if state.term is not None else ()), *(("党小组会",) if state.groups else ()))
    if period == QUARTER:
        return ("党员大会", "党课")
    if period == YEAR:
        return ("组织生活会", "民主评议")
    raise ValueError(period)


def group_missing(state: OrgState, group: GroupState, start: date, end: date) -> bool:
    """A 党小组 has no 党小组会 in [start, end): none of its own, and none held by the whole branch."""
    return not (recorded(group.meetings, "党小组会", start, end) or recorded(state.meetings, "党小组会", start, end))


def held(state: OrgState, kind: str, start: date, end: date) -> bool:
    """`kind` is recorded in [start, end); a 党小组会 counts when every 党小组 has one. A combined meeting counts for
    each of its kinds."""
    if kind == "党小组会" and state.groups:
        return not any(group_missing(state, g, start, end) for g in state.groups)
    return recorded(state.meetings, kind, start, end)


# --- 主题党日 ------------------------------------------------------------------------------------------------------
def rule_day(rule: Mapping[str, Any], year: int, month: int) -> date:
    """The month's day by the branch's rule: {"day": 20} or {"nth": 3, "weekday": 4} (nth −1 = the last)."""
    if "day" in rule:
        return date(year, month, int(rule["day"]))
    nth, weekday = int(rule["nth"]), int(rule["weekday"])
    if nth == -1:
        d = next_month_start(year, month) - timedelta(days=1)
        return d - timedelta(days=(d.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def theme_date(state: OrgState, year: int, month: int, cal: workdays.Calendar) -> tuple[date, bool]:
    """(the month's 主题党日, whether it was scheduled explicitly). An explicit 主题党日 meeting keeps its date."""
    start, end = month_start(year, month), next_month_start(year, month)
    explicit = sorted(m.day for m in state.meetings if "主题党日" in m.kinds and start <= m.day < end)
    if explicit:
        return explicit[0], True
    d = rule_day(state.settings.get("theme_day") or {"day": 20}, year, month)
    if state.settings.get("theme_day_shift", "previous") == "next":
        return cal.next(d), False
    return cal.previous(d), False


def theme_meeting(state: OrgState, year: int, month: int) -> MeetingRecord | None:
    """The month's recorded 主题党日 meeting (the first, as theme_date takes its day), if any."""
    start, end = month_start(year, month), next_month_start(year, month)
    return min((m for m in state.meetings if "主题党日" in m.kinds and start <= m.day < end), default=None)


def theme_day_dues(state: OrgState, today: date, cal: workdays.Calendar) -> list[Due]:
    out: list[Due] = []
    for y, m in months_around(today, 0, 1):
        meeting = theme_meeting(state, y, m)
        if meeting is not None and meeting.held:
            continue  # signed in (or going on): no "请按时参加", and the list and greetings are past their moment
        day, explicit = theme_date(state, y, m, cal)
        t3 = notice_day(day - timedelta(days=3), cal)
        if not t3 <= today <= day:
            continue  # everything below is due from T−3 and stale after the day: skip building it
        # an arranged meeting's own time and place; else the branch's 主题党日时间/地点 for the rule's day
        clock, place = (state.settings.get("theme_day_time") or "", state.settings.get("theme_day_place") or "")
        if explicit and meeting is not None:
            clock, place = (meeting.starts.strftime("%H:%M") if meeting.starts else ""), meeting.place or ""
        where = f"在{place}" if place else ""
        when = cn(day) + clock
        out.append(Due(f"theme_day:{state.name}:{day}:T-3", "theme_day", state.name, state.members, state.at(t3),
                       state.midnight(day), f"{state.name}将于{when}{where}开展{m}月主题党日活动，请提前安排好工作按时参加；"
                                      "不能参加的请向支部书记请假。"))
        today_at = f"，{clock}{where}开始" if clock or place else ""
        out.append(Due(f"theme_day:{state.name}:{day}:T0", "theme_day", state.name, state.members, state.at(day),
                       state.midnight(day + timedelta(days=1)),
                       f"今天是{state.name}{m}月主题党日{today_at}，请按时参加，到场后发送“签到 签到码”完成签到。"))
        out.extend(birthday_dues(state, day, t3, meeting.starts if meeting else _clock_on(day, clock, state.tz)))
        out.extend(collection_dues(state, y, m, day, t3))
    return out


def _clock_on(d: date, clock: str, tz: tzinfo) -> datetime | None:
    """`d` at the branch's 主题党日时间 ("14:30"), if it has one that reads as a time."""
    try:
        return at(d, tz, time.fromisoformat(clock)) if clock else None
    except ValueError:
        return None


def birthday_dues(state: OrgState, day: date, t3: date, starts: datetime | None = None) -> list[Due]:
    """The list goes to the secretary with the T−3 notice; each greeting on the 主题党日's morning, where the branch
    marks the month's 政治生日 (domain T09.1b), and it stops being sent when the meeting begins (`starts`, if known):
    a greeting that says 今天为…过政治生日 must not arrive after the meeting."""
    greet_at, greet_until = state.at(day), state.midnight(day + timedelta(days=1))
    if starts is not None:  # an early meeting: an hour before it, or not at all once it has begun
        greet_at, greet_until = min(greet_at, starts - timedelta(hours=1)), starts
    born = sorted((p for p in state.members if p.joined_on and p.joined_on.month == day.month
                   and p.joined_on.year < day.year), key=lambda p: (p.joined_on, p.id))
    if not born:
        return []
    listing = "；".join(f"{p.name}（{p.joined_on.year}年{p.joined_on.month}月{p.joined_on.day}日入党，"
                       f"{day.year - p.joined_on.year}周年）" for p in born)
    to = tuple(state.holders("书记", "组织委员")) or tuple(state.secretary())
    out = [Due(f"political_birthday:{state.name}:{day}:list", "political_birthday", state.name, to, state.at(t3),
               state.midnight(day), f"{day.month}月过政治生日的党员：{listing}。请在{cn(day)}主题党日上为他们过政治生日。")]
    for p in born:
        years = day.year - p.joined_on.year
        out.append(Due(f"political_birthday:{state.name}:{day}:greeting:{p.account}", "political_birthday",
                       state.name, (p,), greet_at, greet_until,
                       f"{p.name}同志：今天{state.name}为本月入党的同志过政治生日。{p.joined_on.year}年"
                       f"{p.joined_on.month}月你加入中国共产党，至今{years}年。不忘初心，牢记使命！"))
    return out


def collection_dues(state: OrgState, year: int, month: int, day: date, t3: date) -> list[Due]:
    mk = f"{year:04d}-{month:02d}"
    after = next_month_start(year, month)
    # relevant until the day's end: after it the notice is stale, and unpaid months are the arrears rule's
    due_at, until, prefix = state.at(t3), state.midnight(day + timedelta(days=1)), f"dues_collection:{state.name}:{mk}:"
    tail = f"同志：你{year}年{month}月的党费还没有交。支部将在{cn(day)}主题党日收缴，请按时交纳；发送“我的党费”可查看应交金额。"
    paid = state.paid
    return [Due(prefix + p.account, "dues_collection", state.name, (p,), due_at, until, p.name + tail)
            for p in state.members
            if mk not in paid.get(p.id, ()) and not (p.joined_on and p.joined_on >= after)]


# --- 三会一课 -----------------------------------------------------------------------------------------------------
def monthly_meeting_dues(state: OrgState, today: date, cal: workdays.Calendar) -> list[Due]:
    out: list[Due] = []
    y, m = today.year, today.month
    start, end = month_start(y, m), next_month_start(y, m)
    remind = notice_day(date(y, m, 25), cal)
    if today < remind:
        return out
    mk = f"{y:04d}-{m:02d}"
    need = required_kinds(state, MONTH)
    if "支委会" in need and not held(state, "支委会", start, end):
        out.append(Due(f"committee_meeting:{state.name}:{mk}", "committee_meeting", state.name,
                       tuple(state.secretary()), state.at(remind), state.midnight(end),
                       f"{state.name}{m}月还没有召开支委会的记录。请在月底前召开，会后在系统中登记。"))
    for g in state.groups if "党小组会" in need else ():
        if not group_missing(state, g, start, end):
            continue
        to = _unique((*g.leaders, *state.secretary()))
        out.append(Due(f"group_meeting:{g.name}:{mk}", "group_meeting", state.name, to, state.at(remind),
                       state.midnight(end), f"{g.name}{m}月还没有召开党小组会的记录。请组长在月底前组织召开，会后登记。"))
    return out


def quarterly_meeting_dues(state: OrgState, today: date, cal: workdays.Calendar) -> list[Due]:
    q = quarter_of(today)
    last_month = q * 3
    start, end = date(today.year, last_month - 2, 1), next_month_start(today.year, last_month)
    first = cal.first_of_month(today.year, last_month)
    d25 = notice_day(date(today.year, last_month, 25), cal)
    out: list[Due] = []
    if today < first:
        return out  # both stages are in the quarter's last month
    to_of = {"党员大会": ("general_meeting", tuple(state.secretary())),
             "党课": ("party_lecture", _unique((*state.secretary(), *state.holders("宣传委员"))))}
    for meeting in required_kinds(state, QUARTER):
        kind, to = to_of[meeting]
        if held(state, meeting, start, end):
            continue
        base = f"{kind}:{state.name}:{today.year}Q{q}"
        out.append(Due(f"{base}:m1", kind, state.name, to, state.at(first), state.midnight(d25),
                       f"{state.name}本季度（第{q}季度）还没有{meeting}的记录。请在{last_month}月底前安排召开，"
                       "会后登记；与主题党日合并召开的，登记时勾选两种会议类型即可。"))
        out.append(Due(f"{base}:d25", kind, state.name, to, state.at(d25), state.midnight(end),
                       f"{state.name}第{q}季度只剩几天，仍没有{meeting}的记录。请在{last_month}月底前召开并登记。"))
    return out


# --- 组织生活会 + 民主评议 -------------------------------------------------------------------------------------------
def org_life_cycles(state: OrgState, today: date) -> list[tuple[int, date, date, date]]:
    """(年度, window start, window end, first day that counts as a record) for the cycles around `today`."""
    window = state.settings.get("org_life_window", "Q4")
    explicit = None
    if isinstance(window, Mapping):
        ws, we = date.fromisoformat(window["start"]), date.fromisoformat(window["end"])
        # a January–June window is the previous year's 年度 meeting (the usual upper-level notice)
        explicit = (ws.year - 1 if ws.month <= 6 else ws.year, ws, we, month_start(ws.year, ws.month))
    cycles = []
    for y in (today.year - 1, today.year):
        if explicit and explicit[0] == y:
            continue
        cycles.append((y, date(y, 10, 1), date(y, 12, 31), date(y, 1, 1)))
    if explicit:
        cycles.append(explicit)
    return cycles


def org_life_dues(state: OrgState, today: date, cal: workdays.Calendar) -> list[Due]:
    out: list[Due] = []
    for year, ws, we, counts_from in org_life_cycles(state, today):
        after = we + timedelta(days=1)
        notice = cal.next(ws)
        if not notice <= today < after:
            continue  # outside the cycle nothing is due (and nothing is built)
        missing = [k for k in required_kinds(state, YEAR) if not held(state, k, counts_from, after)]
        if not missing:
            continue
        alert = notice_day(we - timedelta(days=30), cal)
        to = tuple(state.secretary())
        base = f"org_life_meeting:{state.name}:{year}"
        out.append(Due(f"{base}:notice", "org_life_meeting", state.name, to, state.at(notice), state.midnight(alert),
                       f"{year}年度组织生活会和民主评议党员将在{ws.month}月{ws.day}日至{we.month}月{we.day}日间召开。"
                       "请现在开始准备：确定主题、组织学习，开展谈心谈话，广泛征求意见。"))
        out.append(Due(f"{base}:alert", "org_life_meeting", state.name, to, state.at(alert), state.midnight(after),
                       f"{state.name}{year}年度还没有{'和'.join(missing)}的记录，截止{we.year}年{we.month}月{we.day}日。"
                       "请抓紧安排召开，会后登记。"))
    return out


# --- 换届 ----------------------------------------------------------------------------------------------------------
def term_dues(state: OrgState, today: date, cal: workdays.Calendar) -> list[Due]:
    term = state.term
    if term is None:
        return []
    end = term.ends_on
    t6, t3, t1 = (notice_day(add_months(end, -k), cal) for k in (6, 3, 1))
    over1 = add_years(end, 1)
    if today < t6 or today >= add_years(end, 2):
        return []  # most branches, most days: no stage is due
    to = _unique((*state.upper_admins, *state.secretary()))
    ends = f"{end.year}年{end.month}月{end.day}日"
    base = f"{state.name}:{end}"

    def left(stage: date) -> str:
        # counted from the day it goes out: a stage moved to a working day, or planned late, has less time left
        return time_left(max(stage, today), end)

    return [
        Due(f"term_expiry:{base}:T-6m", "term_expiry", state.name, to, state.at(t6), state.midnight(t3),
            f"{state.name}支部委员会任期将于{ends}届满（{term.elected_on.year}年选举，任期{term.term_years}年），"
            "请按期做好换届准备：向上级党组织报告换届事项，酝酿候选人。附换届提醒函。", letter=True),
        Due(f"term_expiry:{base}:T-3m", "term_expiry", state.name, to, state.at(t3), state.midnight(t1),
            f"{state.name}支部委员会任期将于{ends}届满，{left(t3)}。请向上级党组织报送换届选举的请示。"),
        Due(f"term_expiry:{base}:T-1m", "term_expiry", state.name, to, state.at(t1), state.midnight(end),
            f"{state.name}支部委员会任期将于{ends}届满，{left(t1)}。请召开支委会研究换届选举工作，"
            "候选人预备人选报上级审查。"),
        Due(f"term_overdue:{base}:T0", "term_overdue", state.name, to, state.at(end), state.midnight(over1),
            f"{state.name}支部委员会任期已于{ends}届满，尚未登记换届。延期换届须经上级党组织批准，一般不超过1年。"
            "选举后请发送“换届完成 日期 任期3年”登记。"),
        Due(f"term_overdue:{base}:T+1y", "term_overdue", state.name, to, state.at(over1),
            state.midnight(add_years(end, 2)),
            f"{state.name}支部委员会任期届满已超过1年（{ends}届满），仍未登记换届。请上级党组织督促尽快换届。"),
    ]


# --- 党费 ----------------------------------------------------------------------------------------------------------
ARREARS_STAGES = tuple((months, f"{months}m") for months in (ALERT_MONTHS, ESCALATE_MONTHS))


def arrears_dues(state: OrgState, today: date, cal: workdays.Calendar) -> list[Due]:
    """3 consecutive unpaid months: the member and the 党费管理员; 6: the 书记, once ("请支部研究处理")."""
    if state.dues_since is None:
        return []  # the branch records no dues here: nothing to count from
    # runs older than a year have no stage still relevant; the bound keeps the month walk short
    since = max(date.fromisoformat(state.dues_since + "-01"), add_months(date(today.year, today.month, 1), -12))
    through = previous_month(today)
    keepers = tuple(state.holders("党费管理员")) or tuple(state.holders("组织委员")) or tuple(state.secretary())
    out: list[Due] = []
    for p in state.members:
        paid = state.paid.get(p.id, ())
        if through in paid:
            continue  # the usual case: last month is paid, there is no run
        start = max(p.joined_on, since) if p.joined_on else since
        run = consecutive_unpaid(start, set(paid), through)
        if len(run) < ALERT_MONTHS:
            continue
        first = date.fromisoformat(run[0] + "-01")
        for n, stage in ARREARS_STAGES:
            if len(run) < n:
                continue
            month_after = add_months(first, n)  # the month in which the n-th unpaid month is complete
            due = cal.first_of_month(month_after.year, month_after.month)
            until = state.midnight(add_months(month_after, 3 if n == 3 else 1))
            span = f"{run[0]}起连续{n}个月"
            base = f"dues_arrears:{state.name}:{run[0]}:{stage}"
            if n == 3:
                out.append(Due(f"{base}:{p.account}", "dues_arrears", state.name, (p,), state.at(due), until,
                               f"{p.name}同志：你的党费{span}未交。请尽快补交，有困难请向支部说明；"
                               "发送“我的党费”查看明细。"))
                out.append(Due(f"{base}:note:{p.account}", "dues_arrears", state.name, keepers, state.at(due), until,
                               f"{p.name}的党费{span}未交，已提醒本人。请跟进收缴。"))
            else:
                out.append(Due(f"{base}:{p.account}", "dues_arrears", state.name, tuple(state.secretary()),
                               state.at(due), until, f"{p.name}的党费{span}未交，请支部研究处理。"))
    return out


def rebase_dues(state: OrgState, today: date, cal: workdays.Calendar) -> list[Due]:
    if today.month != 1:
        return []
    if state.members and all((p.id, today.year) in state.rated for p in state.members):
        return []
    to = _unique((*state.holders("党费管理员"), *state.secretary()))
    first = cal.first_of_month(today.year, 1)
    return [Due(f"dues_rebase:{state.name}:{today.year}", "dues_rebase", state.name, to, state.at(first),
                state.midnight(date(today.year, 2, 1)),
                f"请在1月内核定{state.name}党员{today.year}年的月交党费金额（按上年度收入基数），年内一般不再调整。")]


# --- 预备党员 ------------------------------------------------------------------------------------------------------
def probation_dues(state: OrgState, today: date, cal: workdays.Calendar) -> list[Due]:
    to = _unique((*state.holders("组织委员"), *state.secretary()))
    out: list[Due] = []
    for p in state.members:
        if p.category != "预备" or p.joined_on is None or p.id in state.followed:
            continue
        end = add_years(p.joined_on, 1)
        ends = f"{end.year}年{end.month}月{end.day}日"
        base = f"probation_due:{state.name}:{end}"
        out.append(Due(f"{base}:T-30d:{p.account}", "probation_due", state.name, to,
                       state.at(notice_day(end - timedelta(days=30), cal)), state.midnight(end),
                       f"预备党员{p.name}的预备期将于{ends}期满。转正步骤：本人提交书面转正申请→党小组提出意见→"
                       "支委会审查→支部党员大会讨论表决→报上级党委审批（3个月内）。请提前准备。"))
        out.append(Due(f"{base}:T0:{p.account}", "probation_due", state.name, to, state.at(end),
                       state.midnight(add_months(end, 3)),
                       f"预备党员{p.name}的预备期已于{ends}期满，请及时召开支部党员大会讨论其转正，"
                       "并报上级党委审批；需延长预备期的也须经支部大会讨论。"))
    return out


# --- all of them ---------------------------------------------------------------------------------------------------
RULES = (theme_day_dues, monthly_meeting_dues, quarterly_meeting_dues, org_life_dues, term_dues, arrears_dues,
         rebase_dues, probation_dues)


def due_items(state: OrgState, today: date,
              calendar: workdays.Calendar | workdays.Overrides | None = None) -> list[Due]:
    """Everything that should have gone out by `today` and is still relevant, with at least one recipient.

    `calendar` is a workdays.Calendar (share one across branches) or just the operator's overrides.
    """
    cal = calendar if isinstance(calendar, workdays.Calendar) else workdays.Calendar(calendar)
    start = state.midnight(today)
    seen: set[str] = set()
    out: list[Due] = []
    for rule in RULES:
        for due in rule(state, today, cal):
            if due.due_at.date() <= today and due.relevant_until > start and due.recipients and due.key not in seen:
                seen.add(due.key)
                out.append(due)
    return out


def _unique(people: Iterable[Person]) -> tuple[Person, ...]:
    out: dict[int, Person] = {}
    for p in people:
        out.setdefault(p.id, p)
    return tuple(out.values())
