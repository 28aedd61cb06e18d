"""Dues months: which months a member owes, and the run of consecutive unpaid months (the arrears signal).

The month logic is pure; `paid_months` is the one query. Dues run from the month the member was accepted.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import DuesPayment, DuesRate, Member, Organization
from storage.months import (  # noqa: F401  (re-exported: callers take them from here)
    ALERT_MONTHS,
    ESCALATE_MONTHS,
    consecutive_unpaid,
    month_key,
    months_between,
    previous_month,
)
from storage.orgs import descendants
from storage.quoting import clip


def paid_months(session: Session, member_ids: Iterable[int]) -> dict[int, set[str]]:
    ids = list(member_ids)
    out: dict[int, set[str]] = defaultdict(set)
    if not ids:
        return out
    for member_id, month in session.execute(select(DuesPayment.member_id, DuesPayment.month)
                                            .where(DuesPayment.member_id.in_(ids))):
        out[member_id].add(month)
    return out


# ---- where a member's dues are tracked from, the branch's members, and the arrears signal -----------------



def add_months(month: str, n: int) -> str:
    y, m = int(month[:4]), int(month[5:])
    total = y * 12 + (m - 1) + n
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def tracking_starts(session: Session, members: Iterable[Member]) -> dict[int, date]:
    """The day each member's dues are counted from: the month they were accepted, but not before the first
    year the branch fixed their amount here (or their first recorded payment). Earlier months predate the
    ledger and are never reported as arrears. Members with neither a rate nor a payment are absent."""
    members = list(members)
    ids = [m.id for m in members]
    if not ids:
        return {}
    first: dict[int, str] = {}
    for member_id, year in session.execute(select(DuesRate.member_id, func.min(DuesRate.year))
                                           .where(DuesRate.member_id.in_(ids)).group_by(DuesRate.member_id)):
        first[member_id] = f"{year:04d}-01"
    for member_id, month in session.execute(select(DuesPayment.member_id, func.min(DuesPayment.month))
                                            .where(DuesPayment.member_id.in_(ids)).group_by(DuesPayment.member_id)):
        first[member_id] = min(first.get(member_id, month), month)
    out: dict[int, date] = {}
    for m in members:
        if m.id not in first or m.joined_on is None:
            continue
        ledger = date(int(first[m.id][:4]), int(first[m.id][5:]), 1)
        out[m.id] = max(m.joined_on, ledger)
    return out


def branch_members(session: Session, org: Organization) -> list[Member]:
    """Active members of a branch and of its 党小组 (dues are kept by the branch)."""
    org_ids = [org.id] + [o.id for o in descendants(session, org) if o.type == "党小组"]
    return list(session.scalars(select(Member).where(Member.organization_id.in_(org_ids), Member.status == "active")
                                .order_by(Member.id)))


@dataclass(frozen=True)
class ArrearsSignal:
    """A member with `len(months)` consecutive unpaid months ending at `through`. `level` is "alert" from the
    alert threshold and "escalate" from six months: the escalation asks the branch to study the case
    (请支部研究处理); whether there was a good reason, and anything that follows, is the branch's decision."""

    member_id: int
    name: str
    organization_id: int
    months: tuple[str, ...]
    level: str  # alert / escalate

    @property
    def count(self) -> int:
        return len(self.months)

    def text(self) -> str:
        span = self.months[0] if self.count == 1 else f"{self.months[0]}至{self.months[-1]}"
        line = f"{self.name}已连续 {self.count} 个月未交党费（{span}）"
        if self.level == "escalate":
            return line + "，请支部研究处理。"
        return line + "，请提醒本人按月交纳。"


def arrears_signals(session: Session, org: Organization, through: str, alert_at: int = ALERT_MONTHS,
                    escalate_at: int = ESCALATE_MONTHS) -> list[ArrearsSignal]:
    """Members of the branch `org` (and its 党小组) whose run of consecutive unpaid months ending at `through`
    (normally the previous month: a month is owed once it has ended) is at least `alert_at` long.
    Longest run first."""
    members = branch_members(session, org)
    starts = tracking_starts(session, members)
    paid = paid_months(session, starts)
    out = []
    for m in members:
        if m.id not in starts:
            continue
        run = consecutive_unpaid(starts[m.id], paid.get(m.id, set()), through)
        if len(run) >= alert_at:
            level = "escalate" if len(run) >= escalate_at else "alert"
            out.append(ArrearsSignal(m.id, m.name, m.organization_id, tuple(run), level))
    out.sort(key=lambda s: (-s.count, s.member_id))
    return out


# ---- the ledger's rules for recording a payment (pure) -----------------------------------------------------

AHEAD_LIMIT = 3  # months beyond the current one: quarterly payment with the branch's consent (第十二条)
LATE_LIMIT = 6  # 补交 generally no more than 6 months (第十二条): older months are recorded but flagged


@dataclass
class PaymentCheck:
    errors: list[str]
    late: list[str]  # months paid more than LATE_LIMIT months after they were due


def check_payment(months: list[str], current: str, start: date | None, paid: set[str]) -> PaymentCheck:
    """Refuse months before the member's dues start, more than a quarter ahead, or already paid; flag 补交
    beyond six months. `current` is this month (YYYY-MM)."""
    errors: list[str] = []
    if start is not None and months and months[0] < month_key(start):
        errors.append(f"{months[0]} 早于应交党费的起始月 {month_key(start)}（入党或建账之月）")
    limit = add_months(current, AHEAD_LIMIT)
    if months and months[-1] > limit:
        errors.append(f"{months[-1]} 超出可预交范围：最多预交一个季度（到 {limit}；依据党费规定第十二条，"
                      "经支部同意可按季度交纳，以原文为准）")
    dup = [m for m in months if m in paid]
    if dup:
        errors.append(f"{'、'.join(dup)} 已登记过党费，同一月份不能重复登记")
    oldest_ok = add_months(current, -LATE_LIMIT)
    late = [m for m in months if m < oldest_ok]
    return PaymentCheck(errors, late)


MONTH_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")


def parse_month(text: str) -> str:
    """'2026-11', '2026-9', '2026年9月', '2026/09', '2026.9' → 'YYYY-MM'; ValueError otherwise."""
    m = MONTH_RE.fullmatch(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"“{clip(text)}”不是月份，请写成 2026-11")
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def parse_month_range(text: str) -> list[str]:
    """'2026-11' or '2026-09至2026-11' (also 到, ~, -- and —) → the months, oldest first."""
    parts = [p for p in re.split(r"\s*(?:至|到|~|～|—|--)\s*", text.strip()) if p]
    if len(parts) == 1:
        return [parse_month(parts[0])]
    if len(parts) == 2:
        first, last = parse_month(parts[0]), parse_month(parts[1])
        if last < first:
            raise ValueError(f"结束月份 {last} 早于开始月份 {first}")
        return months_between(first, last)
    raise ValueError(f"“{clip(text)}”不是月份，请写成 2026-11 或 2026-09至2026-11")


def rates_for(session: Session, member_ids: Iterable[int], years: Iterable[int]) -> dict[tuple[int, int], DuesRate]:
    ids, ys = list(member_ids), list(years)
    if not ids or not ys:
        return {}
    return {(r.member_id, r.year): r for r in session.scalars(
        select(DuesRate).where(DuesRate.member_id.in_(ids), DuesRate.year.in_(ys)))}


def record_payments(session: Session, member: Member, months_amounts: list[tuple[str, int]], paid_on: date,
                    recorded_by: Member | None, source: str = "manual") -> None:
    for month, amount_fen in months_amounts:
        session.add(DuesPayment(member_id=member.id, month=month, amount_fen=amount_fen, paid_on=paid_on,
                                recorded_by_id=recorded_by.id if recorded_by else None, source=source))
    session.flush()


# ---- months as secretaries write them in the chat (登记党费 张三 12月 / 6月到12月 / 2026年6-12月) ------------------

_CN_MONTHS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "十一": 11,
              "十二": 12, "正": 1, "腊": 12}
_CN_MONTH_RE = re.compile(r"(十[一二]?|[一二三四五六七八九正腊])(?=月)")
_ONE = r"(?:(?P<{y}>\d{{4}})\s*(?:年|[-/.])\s*)?(?P<{m}>\d{{1,2}})\s*(?P<{u}>月)?"
_RANGE_SEP = r"\s*(?:至|到|~|～|—|--|-|－)\s*"
_MONTHS_RE = re.compile("^" + _ONE.format(y="y1", m="m1", u="u1")
                        + f"(?:{_RANGE_SEP}" + _ONE.format(y="y2", m="m2", u="u2") + ")?$")
_RELATIVE = {"本月": 0, "这个月": 0, "这月": 0, "当月": 0, "上月": -1, "上个月": -1, "下月": 1, "下个月": 1}


def default_year(month: int, today: date) -> int:
    """The year a bare month (12月) means: the one that puts it nearest to this month without passing what may be paid
    ahead (a quarter), the past on a tie — 1月 written in November is the coming January, 12月 or 6月 written in
    January the one just past."""
    now = today.year * 12 + today.month - 1
    years = [y for y in (today.year - 1, today.year, today.year + 1) if y * 12 + month - 1 <= now + AHEAD_LIMIT]
    return min(years, key=lambda y: (abs(y * 12 + month - 1 - now), y * 12 + month - 1 > now))


def parse_months(text: str, today: date) -> list[str]:
    """The months of a payment as written in a chat, oldest first: 2026-11, 2026年11月, 12月, 十二月, 本月, 上个月,
    6月到12月, 6-12月, 2026年6-12月, 2025年12月至2026年2月, and lists of these (6月、8月). A bare number is never a
    month (it may be an amount): it needs 月 or a year. ValueError (Chinese) otherwise."""
    t = unicodedata.normalize("NFKC", text or "").strip().replace("月份", "月").replace("份", "")
    t = _CN_MONTH_RE.sub(lambda m: str(_CN_MONTHS[m.group(1)]), t)
    if not t:
        raise ValueError("请写上月份，例如 2026-11 或 12月")
    months: set[str] = set()
    for piece in (p for p in re.split(r"\s*[、,，;；和及]\s*", t) if p):
        months.update(_parse_piece(piece, today))
    return sorted(months)


def _parse_piece(piece: str, today: date) -> list[str]:
    if piece in _RELATIVE:
        return [add_months(month_key(today), _RELATIVE[piece])]
    m = _MONTHS_RE.match(piece)
    if m is None or not (m["y1"] or m["u1"] or m["u2"] or m["y2"]):
        raise ValueError(f"“{clip(piece)}”不是月份，请写成 2026-11、12月 或 6月到12月")
    m1, m2 = int(m["m1"]), int(m["m2"]) if m["m2"] else None
    for value in (m1, m2):
        if value is not None and not 1 <= value <= 12:
            raise ValueError(f"“{clip(piece)}”不是月份：月份在 1 到 12 之间")
    if m2 is None:
        year = int(m["y1"]) if m["y1"] else default_year(m1, today)
        return [f"{year:04d}-{m1:02d}"]
    if m["y1"] and m["y2"]:
        y1, y2 = int(m["y1"]), int(m["y2"])
    elif m["y1"]:
        y1 = int(m["y1"])
        y2 = y1 if m2 >= m1 else y1 + 1
    elif m["y2"]:
        y2 = int(m["y2"])
        y1 = y2 if m1 <= m2 else y2 - 1
    else:
        y2 = default_year(m2, today)
        y1 = y2 if m1 <= m2 else y2 - 1
    first, last = f"{y1:04d}-{m1:02d}", f"{y2:04d}-{m2:02d}"
    if last < first:
        raise ValueError(f"结束月份 {last} 早于开始月份 {first}")
    return months_between(first, last)
