"""The 规范化 self-check of one branch: the items of the standard the data can show, scored pass/fail with their
evidence, and what to fix first. Pure functions of an `OrgState` and its `Checkup` (reminders/oversight_rules.py):
the self-check reads the same meetings, term, dues and 转正 measures as 支部体检, so the two never disagree.

The items, their points and their measures come from the standard file the 党委 edits
(reminders/selfcheck_standard.py loads and checks it). An item without a measure is 需人工核查: listed, not scored.

    selfcheck(state, checkup, standard) -> BranchSelfCheck
    MEASURES: measure name → what it checks (the names a standard file may use)

The period judged is the latest one that is over on the day of the checkup: last month (主题党日, 支委会, 党小组会),
last quarter (党员大会, 党课) and the last 组织生活会 year (组织生活会, 民主评议) — a month still running is not failed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reminders.oversight_rules import Checkup, PeriodCheck, join_kinds
from reminders.rules import MONTH, QUARTER, YEAR, OrgState

PASS, FAIL, MANUAL = "达标", "未达标", "需人工核查"
MIN_FORMAL = 3  # 正式党员 3 人以上 may form a 党支部 (《中国共产党支部工作条例（试行）》第五条)
COMMITTEE_FROM = 7  # 正式党员 7 人以上 set up a 支部委员会 (同条例第十五条)
GROUPS_FROM = 20  # 党员 20 人以上 are divided into 党小组 (the standard's item 3; the 条例 names no number)


@dataclass(frozen=True)
class Item:
    id: str
    area: str  # the standard's 方面: 组织设置, 组织生活, …
    name: str
    points: int
    basis: str  # the standard's own words for the item
    measure: str | None = None  # None: 需人工核查

    @property
    def manual(self) -> bool:
        return self.measure is None


@dataclass(frozen=True)
class Standard:
    title: str
    source: str  # the documents the items and points come from
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Finding:
    item: Item
    status: str  # PASS / FAIL / MANUAL
    evidence: str  # "正式党员 12 人", "2026年10月 支委会 未召开"


@dataclass(frozen=True)
class BranchSelfCheck:
    org_id: int
    name: str
    findings: tuple[Finding, ...]  # in the standard's order
    periods: tuple[str, ...]  # the periods judged: 2026年10月, 2026年第3季度, 2025年度

    @property
    def earned(self) -> int:
        return sum(f.item.points for f in self.findings if f.status == PASS)

    @property
    def scorable(self) -> int:
        return sum(f.item.points for f in self.findings if f.status != MANUAL)

    @property
    def to_fix(self) -> tuple[Finding, ...]:
        """The failing items, most points first (then in the standard's order)."""
        failing = [f for f in self.findings if f.status == FAIL]
        return tuple(sorted(failing, key=lambda f: -f.item.points))

    @property
    def manual(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == MANUAL)


# --- measures: (state, checkup) → (passed, evidence) ---------------------------------------------------------------
Measure = Callable[[OrgState, Checkup], tuple[bool, str]]


def formal_count(state: OrgState) -> int:
    return sum(1 for p in state.members if p.category == "正式")


def _formal_members(state: OrgState, c: Checkup) -> tuple[bool, str]:
    n = formal_count(state)
    return n >= MIN_FORMAL, f"正式党员 {n} 人" + ("" if n >= MIN_FORMAL else f"，不足 {MIN_FORMAL} 人")


def _party_groups(state: OrgState, c: Checkup) -> tuple[bool, str]:
    n = len(state.members)
    if state.groups:
        return True, f"党员 {n} 人，设 {len(state.groups)} 个党小组"
    if n < GROUPS_FROM:
        return True, f"党员 {n} 人，不足 {GROUPS_FROM} 人，可不划分党小组"
    return False, f"党员 {n} 人，未划分党小组"


def _committee(state: OrgState, c: Checkup) -> tuple[bool, str]:
    n = formal_count(state)
    if n < COMMITTEE_FROM:
        return True, f"正式党员 {n} 人，不足 {COMMITTEE_FROM} 人，可不设支委会"
    if state.term is None:
        return False, f"正式党员 {n} 人，应设支委会，系统中没有支委会任期记录"
    return True, f"正式党员 {n} 人，支委会 {state.term.elected_on.isoformat()} 选举产生"


def _secretary(state: OrgState, c: Checkup) -> tuple[bool, str]:
    names = [p.name for p in state.holders("书记")]
    if names:
        return True, f"书记：{'、'.join(names)}"
    deputy = [p.name for p in state.holders("副书记")]
    return False, "未设书记" + (f"（副书记：{'、'.join(deputy)}）" if deputy else "")


def _term(state: OrgState, c: Checkup) -> tuple[bool, str]:
    if c.term_end is None:
        return False, "系统中没有任期记录，无法确认按期换届"
    if c.term_overdue_days is not None:
        return False, f"任期 {c.term_end.isoformat()} 届满，已逾期 {c.term_overdue_days} 天未换届"
    return True, f"任期 {c.term_end.isoformat()} 届满，未到期"


def _last_closed(c: Checkup, kind: str) -> PeriodCheck | None:
    closed = [pc for pc in c.periods if pc.period.kind == kind and pc.period.closed]
    return max(closed, key=lambda pc: pc.period.start, default=None)


def full_label(pc: PeriodCheck) -> str:
    """10月 → 2026年10月: a self-check is read later, and across the new year."""
    label = pc.period.label
    return label if "年" in label else f"{pc.period.start.year}年{label}"


def _meetings(c: Checkup, wanted: dict[str, tuple[str, ...]]) -> tuple[bool, str]:
    """The kinds in `wanted` (period kind → meeting kinds) that the last closed period of each kind required."""
    held_parts, missing_parts = [], []
    for kind, kinds in wanted.items():
        pc = _last_closed(c, kind)
        if pc is None:
            continue
        need = [k for k in pc.required if k in kinds]
        miss = [k for k in need if k in pc.missing]
        done = [k for k in need if k not in pc.missing]
        if miss:
            missing_parts.append(f"{full_label(pc)} {join_kinds(miss)} 未召开")
        if done:
            held_parts.append(f"{full_label(pc)} {join_kinds(done)} 已召开")
    if missing_parts:
        return False, "；".join(missing_parts)
    return True, "；".join(held_parts) or "检查期内没有应开的会议"


def _three_meetings(state: OrgState, c: Checkup) -> tuple[bool, str]:
    return _meetings(c, {MONTH: ("支委会", "党小组会"), QUARTER: ("党员大会", "党课")})


def _theme_day(state: OrgState, c: Checkup) -> tuple[bool, str]:
    return _meetings(c, {MONTH: ("主题党日",)})


def _org_life(state: OrgState, c: Checkup) -> tuple[bool, str]:
    return _meetings(c, {YEAR: ("组织生活会",)})


def _democratic_review(state: OrgState, c: Checkup) -> tuple[bool, str]:
    return _meetings(c, {YEAR: ("民主评议",)})


def _dues(state: OrgState, c: Checkup) -> tuple[bool, str]:
    if state.dues_since is None:
        return False, "系统中没有党费交纳记录"
    behind = c.dues_3 + c.dues_6
    if not behind:
        return True, "没有连续 3 个月以上未交党费的党员"
    return False, f"{behind} 人连续 3 个月以上未交党费" + (f"（其中 6 个月以上 {c.dues_6} 人）" if c.dues_6 else "")


def _probation(state: OrgState, c: Checkup) -> tuple[bool, str]:
    if c.probation_over:
        return False, f"预备期已满未转正：{'、'.join(c.probation_over)}"
    n = sum(1 for p in state.members if p.category == "预备")
    return True, f"预备党员 {n} 人，没有预备期已满未转正的" if n else "没有预备党员"


# name → (what it checks, the measure); the names are what a standard file writes after `measure:`
MEASURES: dict[str, tuple[str, Measure]] = {
    "formal_members": (f"正式党员不少于 {MIN_FORMAL} 人", _formal_members),
    "party_groups": (f"党员 {GROUPS_FROM} 人以上的划分党小组", _party_groups),
    "committee": (f"正式党员 {COMMITTEE_FROM} 人以上的设支委会", _committee),
    "secretary": ("设有书记", _secretary),
    "term": ("任期未届满（按期换届）", _term),
    "three_meetings": ("上月支委会、党小组会，上季度党员大会、党课", _three_meetings),
    "theme_day": ("上月主题党日", _theme_day),
    "org_life": ("上一年度组织生活会", _org_life),
    "democratic_review": ("上一年度民主评议党员", _democratic_review),
    "dues": ("没有连续 3 个月以上未交党费的党员", _dues),
    "probation": ("没有预备期已满未转正的预备党员", _probation),
}


def judged_periods(c: Checkup) -> tuple[str, ...]:
    return tuple(full_label(pc) for kind in (MONTH, QUARTER, YEAR) if (pc := _last_closed(c, kind)) is not None)


def selfcheck(state: OrgState, c: Checkup, standard: Standard) -> BranchSelfCheck:
    """Every item of `standard` for the branch of `state`, whose checkup (on the day asked) is `c`."""
    findings = []
    for item in standard.items:
        if item.measure is None:
            findings.append(Finding(item, MANUAL, "数据无法反映，请对照标准人工核查"))
            continue
        passed, evidence = MEASURES[item.measure][1](state, c)
        findings.append(Finding(item, PASS if passed else FAIL, evidence))
    return BranchSelfCheck(state.org_id, state.name, tuple(findings), judged_periods(c))
