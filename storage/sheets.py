"""Reading and writing the spreadsheets people keep: CSV as Excel saves it, dates and mobiles in Excel's forms,
errors that name the sheet, row and column, and the styled header row of every workbook we write.

Shared by the roster, the dues sheets, the ledgers and the demo data.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

MOBILE = re.compile(r"1[3-9]\d{9}")
EXCEL_EPOCH = date(1899, 12, 30)


class SheetError(ValueError):
    """A file refused as a whole; `errors` lists every problem found, each naming sheet, row and column."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def decode_csv(data: bytes) -> str:
    """Excel saves CSV as UTF-8 (with or without BOM) or, on Chinese Windows, as GBK."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SheetError(["CSV 文件编码无法识别：请用 Excel 另存为“CSV UTF-8”"])


def csv_rows(data: bytes) -> list[tuple]:
    return [tuple(r) for r in csv.reader(io.StringIO(decode_csv(data)))]


Rows = list[tuple[int, dict[str, object]]]  # (row number as Excel shows it, {header: value})


def table_rows(raw: list[tuple]) -> Rows:
    if not raw:
        return []
    headers = [str(h).strip() if h is not None else "" for h in raw[0]]
    out = []
    for i, values in enumerate(raw[1:], start=2):
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        out.append((i, {h: v for h, v in zip(headers, values, strict=False) if h}))
    return out


def read_sheets(path: Path, csv_sheet: str, pick: Callable[[Workbook], list[Worksheet]],
                error: Callable[[list[str]], Exception]) -> dict[str, Rows]:
    """{sheet title: rows} of the worksheets `pick` chooses; a .csv is one sheet called `csv_sheet`. Every refusal
    is raised as `error(messages)`, the importer's own error."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            return {csv_sheet: table_rows(csv_rows(path.read_bytes()))}
        except SheetError as err:  # an undecodable file
            raise error(err.errors) from None
    if suffix in (".xlsx", ".xlsm"):
        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception:
            raise error([f"无法打开 {path.name}：不是有效的 Excel 文件（请用“另存为 .xlsx”保存）"]) from None
        try:
            return {ws.title: table_rows(list(ws.iter_rows(values_only=True))) for ws in pick(wb)}
        finally:
            wb.close()
    raise error([f"不支持的文件类型 {suffix or '（无扩展名）'}：请用 .xlsx 或 .csv"])


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_date(value: object) -> date:
    """The forms Excel produces: a date cell, 2024-06-15, 2024/6/15, 2024.6.15, 2024年6月15日, a serial number."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 < value < 80000:
            return EXCEL_EPOCH + timedelta(days=int(value))
        raise ValueError
    text = cell_text(value)
    if m := re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+0{1,2}:00(?::00)?)?", text):
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if re.fullmatch(r"\d{5}", text):
        return parse_date(int(text))
    raise ValueError


def parse_mobile(value: object) -> str | None:
    text = re.sub(r"[\s\-]", "", cell_text(value)).removeprefix("+86")
    if not text:
        return None
    if not MOBILE.fullmatch(text):
        raise ValueError
    return text


class ErrorList:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        where = f"「{sheet}」表" + (f"第 {row} 行" if row else "") + (f"「{column}」列" if column else "")
        self.items.append(f"{where}：{message}")


HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="FFE699")


def styled_sheet(wb: Workbook, title: str, columns: tuple[str, ...], rows: list[list[object]], first: bool = False):
    ws = wb.active if first else wb.create_sheet()
    ws.title = title
    ws.append(list(columns))
    for cell in ws[1]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    for row in rows:
        ws.append(row)
    for i, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(12, len(col) * 2 + 4)
        if col.endswith("日期"):
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = "yyyy-mm-dd"
        if col in ("手机号", "企业微信账号", "钉钉账号"):
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = "@"  # keep long digit strings as text
    ws.freeze_panes = "A2"
    return ws
