"""导出概况: the 党委's overview as an .xlsx — one row per branch, one column per measure, its status and reasons.

The first sheet is the period asked for, read on its last day (or today, while it is under way): per required
meeting kind how many times it was due and how many times held, participation, days since the last activity, the
term's end, dues arrears, 预备党员 due or overdue, the status with its reasons — the same definitions as 支部概况
(reminders/oversight_rules.py). Then a sheet per finer period kind inside it (a year's quarters, then its months; a
quarter's months) with the meetings of each. `overview_workbook` builds from loaded checkups and does no I/O, so the
web console can build the same file; `export_overview` loads and builds.
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, tzinfo

from openpyxl import Workbook
from openpyxl.styles import PatternFill
from sqlalchemy.orm import Session

from reminders.oversight_rules import GREEN, RED, YELLOW, Checkup, check_period
from reminders.oversight_state import OrgNode, load_branch_checkups
from reminders.overview_periods import ExportPeriod, requirement_periods, sub_periods
from reminders.rules import MONTH, QUARTER, OrgState
from storage.sheets import styled_sheet

FILLS = {RED: PatternFill("solid", fgColor="F4B6B6"), YELLOW: PatternFill("solid", fgColor="FFE08A"),
         GREEN: PatternFill("solid", fgColor="C6E8C6")}
MEASURES = ("参与率月份", "参与率", "最近组织活动日期", "距最近组织活动（天）", "任期届满日期", "任期逾期（天）",
            "连续欠交党费3至5个月（人）", "连续欠交党费6个月以上（人）", "60天内预备期满", "预备期满未转正", "统计截至日期")
SUB_TITLES = {QUARTER: "按季度", MONTH: "按月"}

Pair = tuple[OrgState, Checkup]


def kind_counts(state: OrgState, period: ExportPeriod, today: date) -> dict[str, list[int]]:
    """Kind → [times due, times held] over the rules' periods inside `period`."""
    out: dict[str, list[int]] = {}
    for p in requirement_periods(state, period, today):
        pc = check_period(state, p)
        for kind in pc.required:
            counts = out.setdefault(kind, [0, 0])
            counts[0] += 1
            counts[1] += kind not in pc.missing
    return out


def _kinds(counts: Iterable[Mapping[str, list[int]]]) -> list[str]:
    """The kinds any branch had to hold, in the rules' order (monthly, quarterly, yearly)."""
    kinds: list[str] = []
    for c in counts:
        kinds += [k for k in c if k not in kinds]
    return kinds


def _kind_columns(kinds: list[str]) -> tuple[str, ...]:
    return tuple(f"{k}{word}" for k in kinds for word in ("应开（次）", "已开（次）"))


def _kind_cells(kinds: list[str], counts: Mapping[str, list[int]]) -> list[object]:
    return [n for k in kinds for n in (counts[k] if k in counts else ("—", "—"))]


def _measure_cells(c: Checkup) -> list[object]:
    p = c.participation
    return [p.label if p else "无签到记录", p.rate if p and p.rate is not None else None, c.last_activity,
            c.quiet_days, c.term_end if c.term_end else "未登记", c.term_overdue_days, c.dues_3, c.dues_6,
            "、".join(c.probation_soon), "、".join(c.probation_over)]


def overview_workbook(pairs: Sequence[Pair], period: ExportPeriod, today: date) -> bytes:
    """The workbook for `pairs` (each branch's state and its checkup on `period.as_of(today)`, worst first)."""
    wb = Workbook()
    counts = [kind_counts(s, period, today) for s, _c in pairs]
    kinds = _kinds(counts)
    columns = ("党支部", "状态", "原因", *_kind_columns(kinds), *MEASURES)
    as_of = period.as_of(today)
    rows = [[c.name, c.status, c.summary(), *_kind_cells(kinds, n), *_measure_cells(c), as_of]
            for (_s, c), n in zip(pairs, counts, strict=True)]
    ws = styled_sheet(wb, period.label, columns, rows, first=True)
    rate_col = columns.index("参与率") + 1
    for r, (_s, c) in enumerate(pairs, start=2):
        ws.cell(row=r, column=2).fill = FILLS[c.status]
        ws.cell(row=r, column=rate_col).number_format = "0%"
    ws.column_dimensions["C"].width = 60

    for subs in sub_periods(period, today):
        sub_counts = [[(sub, kind_counts(s, sub, today)) for sub in subs] for s, _c in pairs]
        sub_kinds = _kinds(n for per_branch in sub_counts for _sub, n in per_branch)
        sub_rows = []
        for (_s, c), per_branch in zip(pairs, sub_counts, strict=True):
            for sub, n in per_branch:
                missing = "、".join(k for k in sub_kinds if k in n and n[k][1] < n[k][0]) or "无"
                if sub.end > today:  # under way: not yet a shortfall
                    label, missing = f"{sub.label}（进行中）", missing if missing == "无" else f"尚未开：{missing}"
                else:
                    label = sub.label
                sub_rows.append([c.name, label, *_kind_cells(sub_kinds, n), missing])
        styled_sheet(wb, SUB_TITLES[subs[0].kind], ("党支部", "期间", *_kind_columns(sub_kinds), "未开齐的会议"),
                     sub_rows)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export_overview(session: Session, branch_ids: Iterable[int], period: ExportPeriod, today: date,
                    tz: tzinfo, tree: Mapping[int, OrgNode] | None = None) -> bytes:
    """Load the branches as they stood at the end of `period` (or today) and build the workbook."""
    pairs = load_branch_checkups(session, period.as_of(today), branch_ids, tz, tree)
    return overview_workbook(pairs, period, today)
