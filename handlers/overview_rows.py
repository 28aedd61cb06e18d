"""The 党委's overview as rows for the web console's table: one per branch, one value per measure. Built from the
checkups `支部概况` uses; the .xlsx of the same measures is reminders.overview_export (导出概况)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from reminders.oversight_rules import ORDER, Checkup, PeriodCheck
from reminders.oversight_state import OrgNode
from reminders.rules import MONTH, QUARTER, YEAR

# the periods a row shows, by the words a secretary uses for them; (key, heading, kind)
PERIODS = (("month", "本月", MONTH), ("last_month", "上月", MONTH), ("quarter", "本季度", QUARTER),
           ("last_quarter", "上季度", QUARTER), ("year", "本年度", YEAR), ("last_year", "上年度", YEAR))


def pick_periods(c: Checkup, today: date) -> dict[str, PeriodCheck | None]:
    """The checkup's periods by key: this and last month and quarter, and the 组织生活会 cycle that contains today
    (else the latest) and the one before it."""
    months = [p for p in c.periods if p.period.kind == MONTH]
    quarters = [p for p in c.periods if p.period.kind == QUARTER]
    years = [p for p in c.periods if p.period.kind == YEAR]
    current = next((p for p in years if p.period.start <= today < p.period.end), years[-1] if years else None)
    before = [p for p in years if current is not None and p.period.end <= current.period.start]
    return {"month": months[0] if months else None, "last_month": months[1] if len(months) > 1 else None,
            "quarter": quarters[0] if quarters else None,
            "last_quarter": quarters[1] if len(quarters) > 1 else None,
            "year": current, "last_year": before[-1] if before else None}


def period_text(pc: PeriodCheck | None) -> str:
    """已开/应开 and what is missing: "1/2 未开支委会"; "—" when nothing is required."""
    if pc is None or not pc.required:
        return "—"
    held = len(pc.required) - len(pc.missing)
    text = f"{held}/{len(pc.required)}"
    if pc.missing:
        text += f" {'未开' if pc.period.closed else '待开'}{'、'.join(pc.missing)}"
    return text


def parent_name(tree: Mapping[int, OrgNode], org_id: int) -> str:
    node = tree.get(org_id)
    parent = tree.get(node.parent_id) if node is not None and node.parent_id is not None else None
    return parent.name if parent is not None else ""


def branch_row(c: Checkup, tree: Mapping[int, OrgNode], today: date) -> dict:
    """Every measure of one branch as plain values (None: no record), plus the words shown for them."""
    periods = pick_periods(c, today)
    p = c.participation
    node = tree.get(c.org_id)
    return {
        "id": c.org_id, "name": c.name, "parent": parent_name(tree, c.org_id),
        "parent_id": node.parent_id if node is not None else None,
        "status": c.status, "status_order": ORDER[c.status],
        "reasons": [(colour, words) for colour, words in c.reasons],
        "summary": c.summary(),
        "periods": {key: period_text(periods[key]) for key, _h, _k in PERIODS},
        "missing": {key: len(periods[key].missing) if periods[key] else 0 for key, _h, _k in PERIODS},
        "participation": p.rate if p is not None and p.rate is not None else None,
        "participation_text": f"{p.label} {p.rate:.0%}" if p is not None and p.rate is not None else "无签到记录",
        "quiet_days": c.quiet_days,
        "last_activity": c.last_activity,
        "term_end": c.term_end,
        "term_text": (c.term_end.isoformat() + (f"（逾期 {c.term_overdue_days} 天）" if c.term_overdue_days else "")
                      if c.term_end else "未登记"),
        "dues_3": c.dues_3 + c.dues_6, "dues_6": c.dues_6,
        "probation_over": len(c.probation_over), "probation_soon": len(c.probation_soon),
    }
