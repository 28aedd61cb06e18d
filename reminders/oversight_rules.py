"""The 党委's view of one branch: what each period required and what was held, participation, activity, the term,
dues arrears, 转正 — and a status (红 / 黄 / 绿) with its reasons. Pure functions of an `OrgState`, a date and a few
numbers the loader adds (reminders/oversight_state.py).

"Required" and "held" are the reminder rules' own (`rules.required_kinds`, `rules.held`): a branch the reminders
chase for a missing meeting is a branch the overview shows as missing it, and the other way round.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from reminders.durations import time_left
from reminders.rules import (
    MONTH,
    QUARTER,
    YEAR,
    OrgState,
    add_months,
    held,
    month_start,
    next_month_start,
    org_life_cycles,
    quarter_of,
    required_kinds,
)
from storage.months import (
    ALERT_MONTHS,
    ESCALATE_MONTHS,
    add_years,
    consecutive_unpaid,
    month_key,
    previous_month,
)

RED, YELLOW, GREEN = "红", "黄", "绿"
ORDER = {RED: 0, YELLOW: 1, GREEN: 2}

# thresholds: organisation settings (storage/org_settings.py), these are the defaults
DEFAULTS: dict[str, Any] = {"participation_threshold": 0.8, "quiet_days": 30, "term_warning_months": 6,
                            "dues_alert_months": ALERT_MONTHS, "dues_red_months": ESCALATE_MONTHS}
PROBATION_AHEAD = timedelta(days=60)


@dataclass(frozen=True)
class Period:
    kind: str  # MONTH / QUARTER / YEAR
    label: str  # 11月 / 第3季度 / 2025年度
    start: date
    end: date  # exclusive
    closed: bool  # the period is over on the day asked


@dataclass(frozen=True)
class PeriodCheck:
    period: Period
    required: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Participation:
    """Signed-in meetings of one month: attended (present or late) out of those due (members minus leave)."""

    label: str
    meetings: int
    attended: int
    due: int

    @property
    def rate(self) -> float | None:
        return self.attended / self.due if self.due else None


@dataclass(frozen=True)
class Checkup:
    org_id: int
    name: str
    status: str
    reasons: tuple[tuple[str, str], ...]  # (colour, words), 红 first
    periods: tuple[PeriodCheck, ...]
    participation: Participation | None
    threshold: float
    last_activity: date | None
    quiet_days: int | None  # days since the last activity (None: no record)
    term_end: date | None
    term_overdue_days: int | None  # > 0: the term ended that many days ago without a new election
    dues_3: int  # members at least dues_alert_months behind (and under dues_red_months)
    dues_6: int  # members at least dues_red_months behind
    probation_soon: tuple[str, ...] = ()  # 预备党员 whose 预备期 ends within 60 days
    probation_over: tuple[str, ...] = ()  # 预备党员 whose 预备期 has ended without 转正
    extra: Mapping[str, Any] = field(default_factory=dict)

    def first_reason(self) -> str:
        return self.reasons[0][1] if self.reasons else "各项正常"

    def summary(self) -> str:
        """红：任期已届满 40 天未换届；黄：30 天没有组织活动、11月参与率 72%"""
        if not self.reasons:
            return f"{GREEN}：各项正常"
        parts = []
        for colour in (RED, YELLOW):
            words = [w for c, w in self.reasons if c == colour]
            if words:
                parts.append(f"{colour}：{'、'.join(words)}")
        return "；".join(parts)


def join_kinds(kinds: tuple[str, ...] | list[str]) -> str:
    """主题党日 / 主题党日和支委会 / 主题党日、支委会和党小组会"""
    return kinds[0] if len(kinds) == 1 else "、".join(kinds[:-1]) + "和" + kinds[-1]


def thresholds(*settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """The defaults, overridden by each of `settings` in turn (the upper organisation's, then the branch's)."""
    out = dict(DEFAULTS)
    for s in settings:
        for k in DEFAULTS:
            if s and k in s:
                out[k] = s[k]
    return out


# --- periods -------------------------------------------------------------------------------------------------------
def month_period(y: int, m: int, today: date) -> Period:
    start, end = month_start(y, m), next_month_start(y, m)
    return Period(MONTH, f"{m}月" if y == today.year else f"{y}年{m}月", start, end, end <= today)


def quarter_period(y: int, q: int, today: date) -> Period:
    start = date(y, q * 3 - 2, 1)
    end = next_month_start(y, q * 3)
    return Period(QUARTER, f"第{q}季度" if y == today.year else f"{y}年第{q}季度", start, end, end <= today)


def year_periods(state: OrgState, today: date) -> list[Period]:
    """The 组织生活会 cycles around `today` (the reminder rules' own windows), oldest first."""
    out = []
    for year, _ws, we, counts_from in sorted(org_life_cycles(state, today)):
        after = we + timedelta(days=1)
        out.append(Period(YEAR, f"{year}年度", counts_from, after, after <= today))
    return out


def current_periods(state: OrgState, today: date) -> list[Period]:
    """This month, last month, this quarter, last quarter, and the current and last yearly cycles."""
    last = add_months(date(today.year, today.month, 1), -1)
    q = quarter_of(today)
    lq_year, lq = (today.year, q - 1) if q > 1 else (today.year - 1, 4)
    return [month_period(today.year, today.month, today), month_period(last.year, last.month, today),
            quarter_period(today.year, q, today), quarter_period(lq_year, lq, today), *year_periods(state, today)]


def check_period(state: OrgState, period: Period) -> PeriodCheck:
    need = required_kinds(state, period.kind)
    return PeriodCheck(period, need, tuple(k for k in need if not held(state, k, period.start, period.end)))


def named_period(state: OrgState, today: date, word: str) -> Period:
    """本月 / 上月 / 本季度 / 上季度 / 本年度 → the period."""
    ps = current_periods(state, today)
    if word == "本月":
        return ps[0]
    if word == "上月":
        return ps[1]
    if word == "本季度":
        return ps[2]
    if word == "上季度":
        return ps[3]
    if word in ("本年度", "今年"):
        return next((p for p in ps[4:] if p.start <= today < p.end), ps[-1])
    raise ValueError(word)


# --- measures -------------------------------------------------------------------------------------------------------
def last_activity(state: OrgState, today: date) -> date | None:
    days = [m.day for m in state.meetings if m.day <= today]
    days += [m.day for g in state.groups for m in g.meetings if m.day <= today]
    return max(days, default=None)


def dues_runs(state: OrgState, today: date, latest_paid: Mapping[int, str] | None = None) -> list[int]:
    """Per member behind on dues, the length of their unbroken run of unpaid months through last month (counted from
    the branch's first dues month and the member's joining). `latest_paid` (member id → the latest month paid up to
    last month), when the loader read that aggregate, stands in for the months paid: the run is what follows it."""
    if state.dues_since is None:
        return []
    since = date.fromisoformat(state.dues_since + "-01")
    through = previous_month(today)
    out = []
    if latest_paid is not None:
        end = _month_number(through)
        for p in state.members:
            last = latest_paid.get(p.id)
            if last == through:
                continue  # the usual case: last month is paid
            start = _month_number(month_key(max(p.joined_on, since) if p.joined_on else since))
            first_unpaid = max(start, _month_number(last) + 1) if last else start
            if (run := end - first_unpaid + 1) > 0:
                out.append(run)
        return out
    for p in state.members:
        paid = state.paid.get(p.id, ())
        if through in paid:
            continue  # the usual case: last month is paid
        start = max(p.joined_on, since) if p.joined_on else since
        if run := len(consecutive_unpaid(start, set(paid), through)):
            out.append(run)
    return out


def _month_number(key: str) -> int:
    return int(key[:4]) * 12 + int(key[5:]) - 1


def dues_behind(state: OrgState, today: date, months: int) -> int:
    """Members whose unbroken run of unpaid months through last month is at least `months` long."""
    return sum(1 for run in dues_runs(state, today) if run >= months)


def probation(state: OrgState, today: date) -> tuple[tuple[str, ...], tuple[str, ...]]:
    soon, over = [], []
    for p in state.members:
        if p.category != "预备" or p.joined_on is None:
            continue
        end = add_years(p.joined_on, 1)
        if end <= today:
            over.append(p.name)
        elif end - today <= PROBATION_AHEAD:
            soon.append(p.name)
    return tuple(soon), tuple(over)


def checkup(state: OrgState, today: date, participation: Participation | None = None,
            upper_settings: Mapping[str, Any] | None = None, latest_paid: Mapping[int, str] | None = None) -> Checkup:
    """Every measure of one branch on `today`, and its status with the reasons (红 first)."""
    th = thresholds(upper_settings, state.settings)
    reasons: list[tuple[str, str]] = []
    periods = tuple(check_period(state, p) for p in current_periods(state, today))

    term = state.term
    overdue = (today - term.ends_on).days if term is not None and term.ends_on <= today else None
    if overdue is not None:
        reasons.append((RED, f"任期已届满 {overdue} 天未换届" if overdue else "任期今天届满，尚未换届"))
    for c in periods:
        if c.period.closed and c.missing and (c.period.kind != YEAR or c is _last_closed_year(periods)):
            reasons.append((RED, f"{c.period.label}未召开{join_kinds(c.missing)}"))
    red_months, alert_months = int(th["dues_red_months"]), int(th["dues_alert_months"])
    runs = dues_runs(state, today, latest_paid)
    d6 = sum(1 for r in runs if r >= red_months)
    d3 = sum(1 for r in runs if alert_months <= r < red_months)
    if d6:
        reasons.append((RED, f"{d6} 名党员连续 {red_months} 个月未交党费"))
    soon, over = probation(state, today)
    if over:
        reasons.append((RED, f"{len(over)} 名预备党员预备期已满未转正"))

    last = last_activity(state, today)
    quiet = (today - last).days if last is not None else None
    if quiet is None:
        reasons.append((YELLOW, "没有组织活动记录"))
    elif quiet >= int(th["quiet_days"]):
        reasons.append((YELLOW, f"{quiet} 天没有组织活动"))
    threshold = float(th["participation_threshold"])
    if participation is not None and participation.rate is not None and participation.rate < threshold:
        reasons.append((YELLOW, f"{participation.label}参与率 {participation.rate:.0%}"))
    if term is not None and overdue is None and today >= add_months(term.ends_on, -int(th["term_warning_months"])):
        reasons.append((YELLOW, f"任期 {term.ends_on.isoformat()} 届满（{time_left(today, term.ends_on)}）"))
    if d3:
        reasons.append((YELLOW, f"{d3} 名党员连续 {alert_months} 个月未交党费"))

    reasons.sort(key=lambda r: ORDER[r[0]])
    status = reasons[0][0] if reasons else GREEN
    return Checkup(state.org_id, state.name, status, tuple(reasons), periods, participation, threshold, last, quiet,
                   term.ends_on if term else None, overdue, d3, d6, soon, over)


def _last_closed_year(periods: tuple[PeriodCheck, ...]) -> PeriodCheck | None:
    """Only the latest closed 组织生活会 cycle is judged: older ones are history."""
    closed = [c for c in periods if c.period.kind == YEAR and c.period.closed]
    return closed[-1] if closed else None
