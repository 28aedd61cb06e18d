"""The month's attendance ledger (出勤台账) as .xlsx bytes: pure, from plain data, no database.

The layout follows the meeting page of a branch's 工作记录本: a header block (类型、主题、时间、地点、主持人、记录人、
应到、实到、请假、缺席及原因) above the sign-in list; one sheet per meeting, and a summary sheet with one row per member.
"""
from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from storage.attendance import STATUS_TEXT, VIA_TEXT

SUMMARY_SHEET = "党员出勤汇总"
ROW_COLUMNS = ("序号", "姓名", "所在党组织", "党员类别", "签到时间", "出勤情况", "签到方式", "备注")
HEADER_LABELS = ("会议类型", "会议主题", "会议时间", "会议地点", "主持人", "记录人", "参会范围", "应到人数", "实到人数",
                 "请假人数", "缺席人数", "参与率", "缺席人员及原因")
TOTAL_COLUMNS = ("应参加", "出席", "迟到", "请假", "缺席", "参与率")
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="F2DCDB")
FLAG_FONT = Font(bold=True, color="C00000")
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class LedgerRow:
    """One member at one meeting; `status` None means no record (absent)."""

    member_key: int
    name: str
    org: str
    category: str
    status: str | None
    at: datetime | None  # local wall-clock time
    via: str | None
    note: str | None


@dataclass(frozen=True)
class LedgerMeeting:
    kinds: str  # 主题党日+党课
    title: str
    starts_at: datetime  # local wall-clock time
    place: str | None
    host: str  # who opened it (主持人)
    scope: str  # the host organisation and any invited ones
    threshold: float
    rows: Sequence[LedgerRow]

    def count(self, status: str) -> int:
        return sum((r.status or "absent") == status for r in self.rows)

    @property
    def attended(self) -> int:
        return self.count("present") + self.count("late")

    @property
    def participation(self) -> float | None:
        due = len(self.rows) - self.count("leave")
        return self.attended / due if due > 0 else None


@dataclass(frozen=True)
class LedgerMember:
    member_key: int
    name: str
    category: str


def ledger_filename(org_name: str, month: str) -> str:
    return f"{org_name}出勤台账{month}.xlsx"


def build_ledger(org_name: str, month: str, meetings: Sequence[LedgerMeeting],
                 members: Sequence[LedgerMember]) -> bytes:
    """The workbook for `month` (YYYY-MM): the summary sheet first, then one sheet per meeting in time order."""
    wb = Workbook()
    summary = wb.active
    summary.title = SUMMARY_SHEET
    names = sheet_names(meetings)
    _summary_sheet(summary, org_name, month, meetings, names, members)
    for meeting, name in zip(meetings, names, strict=True):
        _meeting_sheet(wb.create_sheet(name), org_name, meeting)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def sheet_names(meetings: Sequence[LedgerMeeting]) -> list[str]:
    """'11-24 主题党日+党课', unique, within Excel's 31 characters and without the characters it forbids."""
    names: list[str] = []
    for m in meetings:
        base = BAD_SHEET_CHARS.sub("", f"{m.starts_at:%m-%d} {m.kinds}")[:27]
        name, n = base, 2
        while name in names or name == SUMMARY_SHEET:
            name, n = f"{base}({n})", n + 1
        names.append(name)
    return names


def _title(ws: Worksheet, text: str, width: int) -> None:
    ws.append([text])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(1, 1).font = TITLE_FONT
    ws.cell(1, 1).alignment = Alignment(horizontal="center")


def _header_row(ws: Worksheet, values: Sequence[str]) -> None:
    ws.append(list(values))
    for cell in ws[ws.max_row]:
        cell.font, cell.fill, cell.border = BOLD, HEADER_FILL, BOX
        cell.alignment = Alignment(horizontal="center")


def _meeting_sheet(ws: Worksheet, org_name: str, m: LedgerMeeting) -> None:
    _title(ws, f"{org_name}{m.kinds}签到记录", len(ROW_COLUMNS))
    missing = [r for r in m.rows if (r.status or "absent") in ("leave", "absent")]
    reasons = "；".join(f"{r.name}（{STATUS_TEXT[r.status or 'absent']}{'：' + r.note if r.note else ''}）"
                       for r in missing) or "无"
    rate = m.participation
    values = (m.kinds.replace("+", "、"), m.title, m.starts_at, m.place, m.host or None, None, m.scope, len(m.rows),
              m.attended, m.count("leave"), m.count("absent"), rate if rate is not None else "—", reasons)
    for label_text, value in zip(HEADER_LABELS, values, strict=True):
        ws.append([label_text, value])
        row = ws.max_row
        ws.cell(row, 1).font = BOLD
        ws.cell(row, 2).alignment = Alignment(horizontal="left", wrap_text=True)
        if label_text == "会议时间":
            ws.cell(row, 2).number_format = "yyyy-mm-dd hh:mm"
        if label_text != "参与率":
            ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=len(ROW_COLUMNS))
            continue
        ws.cell(row, 2).number_format = "0.0%"
        if rate is not None and rate < m.threshold:  # flagged beside the figure, in red
            ws.cell(row, 2).font = FLAG_FONT
            ws.cell(row, 3, f"低于参与率下限{m.threshold * 100:g}%").font = FLAG_FONT
    ws.append([])
    _header_row(ws, ROW_COLUMNS)
    for i, r in enumerate(m.rows, start=1):
        status = r.status or "absent"
        ws.append([i, r.name, r.org, r.category, r.at if status in ("present", "late") else None,
                   STATUS_TEXT[status], VIA_TEXT.get(r.via or ""), r.note])
        for cell in ws[ws.max_row]:
            cell.border = BOX
        ws.cell(ws.max_row, 5).number_format = "yyyy-mm-dd hh:mm"
    for col, width in zip("ABCDEFGH", (14, 12, 16, 10, 18, 10, 10, 30), strict=True):
        ws.column_dimensions[col].width = width


def _summary_sheet(ws: Worksheet, org_name: str, month: str, meetings: Sequence[LedgerMeeting], names: list[str],
                   members: Sequence[LedgerMember]) -> None:
    year, mon = month.split("-")
    columns = ("序号", "姓名", "党员类别", *names, *TOTAL_COLUMNS)
    _title(ws, f"{org_name}{year}年{int(mon)}月党员出勤汇总", len(columns))
    _header_row(ws, columns)
    by_meeting = [{r.member_key: r for r in m.rows} for m in meetings]
    for i, member in enumerate(members, start=1):
        counts = dict.fromkeys(STATUS_TEXT, 0)
        cells = []
        for rows in by_meeting:
            row = rows.get(member.member_key)
            if row is None:
                cells.append("—")  # not due at this meeting
                continue
            status = row.status or "absent"
            counts[status] += 1
            cells.append(STATUS_TEXT[status])
        due = sum(counts.values())
        attended = counts["present"] + counts["late"]
        rate = attended / (due - counts["leave"]) if due - counts["leave"] > 0 else "—"
        ws.append([i, member.name, member.category, *cells, due, counts["present"], counts["late"], counts["leave"],
                   counts["absent"], rate])
        ws.cell(ws.max_row, len(columns)).number_format = "0.0%"
        for cell in ws[ws.max_row]:
            cell.border = BOX
    ws.append(["", "各次参与率", "", *[m.participation if m.participation is not None else "—" for m in meetings]])
    total = ws.max_row
    ws.cell(total, 2).font = BOLD
    for j, m in enumerate(meetings, start=4):
        ws.cell(total, j).number_format = "0.0%"
        if m.participation is not None and m.participation < m.threshold:
            ws.cell(total, j).font = FLAG_FONT
    ws.append(["", "说明", "参与率 =（出席+迟到）÷（应到−请假）；红色为低于本支部参与率下限；“—”表示该次无须参加。"])
    ws.freeze_panes = "D3"
    for j in range(1, len(columns) + 1):
        ws.column_dimensions[get_column_letter(j)].width = 16 if 3 < j <= 3 + len(meetings) else 10
