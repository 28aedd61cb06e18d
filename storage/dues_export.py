"""导出党费: one sheet per branch in the 党费收缴登记簿 layout — member × month, with row and column totals.

Cells hold numbers in yuan (two decimals); an unpaid month is empty, a month before the member's dues start is
"—". Amounts are personal: callers give this only to the branch's 书记 / 组织委员 / 党费管理员 or the operator.
"""
from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.dues import branch_members, consecutive_unpaid, month_key, previous_month, tracking_starts
from storage.models import DuesPayment, DuesRate, Member, Organization
from storage.orgs import descendants

HEADERS = ("序号", "姓名", "党员类别", "月交纳额（元）", *(f"{m}月" for m in range(1, 13)), "合计（元）", "备注")
FIRST_MONTH_COL = 5  # E = January
TOTAL_COL = FIRST_MONTH_COL + 12  # Q
NOTE_COL = TOTAL_COL + 1  # R
HEADER_ROW = 3
BEFORE_START = "—"
MONEY = "0.00"
THIN = Side(style="thin", color="999999")


def yuan(fen: int) -> float:
    return float(Decimal(fen) / 100)


def sheet_title(name: str, used: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "", name)[:31] or "党费"
    base, n = title, 2
    while title in used:
        title = f"{base[:28]}({n})"
        n += 1
    used.add(title)
    return title


def export_dues(session: Session, orgs: list[Organization], year: int, today: date) -> bytes:
    """The workbook as bytes; one sheet per organisation, in the order given."""
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for org in orgs:
        _write_sheet(wb.create_sheet(sheet_title(org.name, used)), session, org, year, today)
    if not orgs:
        wb.create_sheet("党费").append(["没有可导出的党组织"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _write_sheet(ws, session: Session, org: Organization, year: int, today: date) -> None:
    members = branch_members(session, org)
    # a member removed since (transferred out) keeps the months they paid this year on the sheet
    org_ids = [org.id] + [o.id for o in descendants(session, org) if o.type == "党小组"]
    members += list(session.scalars(select(Member).where(
        Member.organization_id.in_(org_ids), Member.status != "active",
        Member.id.in_(select(DuesPayment.member_id).where(DuesPayment.month.like(f"{year:04d}-%"))))
        .order_by(Member.id)))
    ids = [m.id for m in members]
    starts = tracking_starts(session, members)
    rates = {r.member_id: r.monthly_fen for r in session.scalars(
        select(DuesRate).where(DuesRate.member_id.in_(ids or [-1]), DuesRate.year == year))}
    paid: dict[int, dict[str, int]] = {}
    all_paid: dict[int, set[str]] = {}
    for p in session.scalars(select(DuesPayment).where(DuesPayment.member_id.in_(ids or [-1]))):
        all_paid.setdefault(p.member_id, set()).add(p.month)
        if p.month.startswith(f"{year:04d}-"):
            paid.setdefault(p.member_id, {})[p.month] = p.amount_fen
    last = previous_month(today)

    ncols = len(HEADERS)
    ws.cell(row=1, column=1, value=f"{org.name}{year}年党费收缴登记簿").font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    ws.cell(row=2, column=1, value=f"单位：元　　导出日期：{today.isoformat()}")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=ncols)
    for col, header in enumerate(HEADERS, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=header)
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="FFE699")
        cell.alignment = Alignment(horizontal="center")

    month_totals = [0] * 12
    row = HEADER_ROW
    for i, m in enumerate(members, start=1):
        row = HEADER_ROW + i
        start = starts.get(m.id)
        ws.cell(row=row, column=1, value=i)
        ws.cell(row=row, column=2, value=m.name)
        ws.cell(row=row, column=3, value=m.category)
        if m.id in rates:
            ws.cell(row=row, column=4, value=yuan(rates[m.id])).number_format = MONEY
        member_paid = paid.get(m.id, {})
        for k in range(12):
            month = f"{year:04d}-{k + 1:02d}"
            cell = ws.cell(row=row, column=FIRST_MONTH_COL + k)
            if month in member_paid:
                cell.value = yuan(member_paid[month])
                cell.number_format = MONEY
                month_totals[k] += member_paid[month]
            elif m.joined_on is not None and month < month_key(m.joined_on):
                cell.value = BEFORE_START
        total = sum(member_paid.values())
        ws.cell(row=row, column=TOTAL_COL, value=yuan(total)).number_format = MONEY
        notes = []
        if m.status != "active":
            notes.append("已移出")
        if m.id not in rates:
            notes.append(f"{year}年未核定")
        if m.joined_on and m.joined_on.year == year:
            notes.append(f"{month_key(m.joined_on)}起交")
        if start is not None and year <= today.year:
            through = last if year == today.year else f"{year:04d}-12"
            run = consecutive_unpaid(start, all_paid.get(m.id, set()), through)
            if run:
                notes.append(f"欠交{len(run)}个月")
        ws.cell(row=row, column=NOTE_COL, value="；".join(notes) or None)

    total_row = row + 1
    ws.cell(row=total_row, column=2, value="合计").font = Font(bold=True)
    for k in range(12):
        ws.cell(row=total_row, column=FIRST_MONTH_COL + k, value=yuan(month_totals[k])).number_format = MONEY
    ws.cell(row=total_row, column=TOTAL_COL, value=yuan(sum(month_totals))).number_format = MONEY
    for r in ws.iter_rows(min_row=HEADER_ROW, max_row=total_row, max_col=ncols):
        for cell in r:
            cell.border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
    widths = {1: 6, 2: 10, 3: 9, 4: 14, TOTAL_COL: 12, NOTE_COL: 24}
    for col in range(1, ncols + 1):
        ws.column_dimensions[get_column_letter(col)].width = widths.get(col, 8)
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=FIRST_MONTH_COL)


def dues_filename(org: Organization, year: int) -> str:
    return f"{org.name}{year}年党费收缴登记簿.xlsx"
