"""Import of a dues payments sheet (.xlsx or .csv in UTF-8 or GBK): all or nothing, like the roster.

One row per member and month or range of months (2026-09至2026-11). Every problem names the sheet, the row and
the column; one problem imports nothing. Months paid more than six months late are recorded and flagged.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.audit import CLI_ACTOR, record_audit
from storage.dues import (
    branch_members,
    check_payment,
    month_key,
    paid_months,
    parse_month_range,
    rates_for,
    record_payments,
)
from storage.models import Member, Organization
from storage.names import normalize_name
from storage.sheets import (
    ErrorList,
    Rows,
    SheetError,
    cell_text,
    parse_date,
    parse_mobile,
    read_sheets,
    styled_sheet,
)

SHEET = "党费交纳"
COLUMNS = ("姓名", "手机号", "所在党组织", "月份", "金额（元）", "交纳日期")
REQUIRED = ("姓名", "月份")


class DuesImportError(SheetError):
    """A payments file refused as a whole; like a roster file, every error names its sheet, row and column."""


@dataclass
class DuesImportResult:
    rows: int = 0
    months: int = 0
    total_fen: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"导入完成：{self.rows} 行，登记党费 {self.months} 个月，"
                f"共 {Decimal(self.total_fen) / 100:.2f} 元。")


@dataclass
class _Row:
    row: int
    member: Member
    months: list[str]
    amount_fen: int | None
    paid_on: date


def read_sheet(path: Path) -> tuple[str, Rows]:
    """(sheet title, rows) of the 党费 sheet, or of the first sheet when none is called that."""
    ((title, rows),) = read_sheets(path, SHEET, lambda wb: [wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]],
                                   DuesImportError).items()
    return title, rows


def _month_text(value: object) -> str:
    """Excel turns a typed 2026-11 into a date: take its month back."""
    if isinstance(value, datetime | date):
        return month_key(value)
    return cell_text(value)


def _amount_fen(value: object) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        amount = Decimal(str(value))
    else:
        amount = Decimal(cell_text(value).removesuffix("元"))  # InvalidOperation is an ArithmeticError
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError
    return int(amount * 100)


def _candidates(session: Session, org: Organization | None) -> list[Member]:
    if org is not None:
        return branch_members(session, org)
    return list(session.scalars(select(Member).where(Member.status == "active")))


def import_dues(session: Session, path: Path, today: date, org: Organization | None = None,
                actor: Member | str = CLI_ACTOR) -> DuesImportResult:
    """Validate the whole file, then write. `org` limits names to one branch (a keeper's own import)."""
    path = Path(path)
    sheet, rows = read_sheet(path)
    errors = ErrorList()
    present = set().union(*(r.keys() for _, r in rows)) if rows else set()
    for col in sorted(present - set(COLUMNS)):
        errors.add(sheet, 1, col, f"无法识别的列名（应为：{'、'.join(COLUMNS)}）")
    for col in REQUIRED:
        if col not in present:
            errors.add(sheet, 1, col, "缺少这一列")
    if not rows:
        errors.add(sheet, None, None, "没有数据行")
    if errors.items:
        raise DuesImportError(errors.items)

    people = _candidates(session, org)
    by_name: dict[str, list[Member]] = defaultdict(list)
    for m in people:
        by_name[normalize_name(m.name)].append(m)
    parsed: list[_Row] = []
    for n, r in rows:
        name = normalize_name(cell_text(r.get("姓名")))
        member = None
        if not name:
            errors.add(sheet, n, "姓名", "不能为空")
        else:
            found = by_name.get(name, [])
            try:
                mobile = parse_mobile(r.get("手机号"))
            except ValueError:
                mobile = None
                errors.add(sheet, n, "手机号", f"“{cell_text(r.get('手机号'))}”不是 11 位手机号")
            org_name = cell_text(r.get("所在党组织"))
            if mobile:
                found = [m for m in found if m.mobile == mobile]
            if org_name:
                found = [m for m in found if m.organization.name == org_name]
            if not found:
                scope = f"{org.name}" if org is not None else "名单中"
                errors.add(sheet, n, "姓名", f"{scope}没有与“{name}”{'及所填手机号/党组织' if mobile or org_name else ''}"
                                          "对应的党员")
            elif len(found) > 1:
                errors.add(sheet, n, "姓名", f"有 {len(found)} 名党员叫“{name}”：请填写手机号区分")
            else:
                member = found[0]
        months: list[str] = []
        if not _month_text(r.get("月份")):
            errors.add(sheet, n, "月份", "不能为空")
        else:
            try:
                months = parse_month_range(_month_text(r.get("月份")))
            except ValueError as err:
                errors.add(sheet, n, "月份", str(err))
        amount = None
        if cell_text(r.get("金额（元）")):
            try:
                amount = _amount_fen(r.get("金额（元）"))
            except (ValueError, ArithmeticError):
                errors.add(sheet, n, "金额（元）", f"“{cell_text(r.get('金额（元）'))}”不是正的金额（最多两位小数）")
        paid_on = today
        if cell_text(r.get("交纳日期")):
            try:
                paid_on = parse_date(r.get("交纳日期"))
            except ValueError:
                errors.add(sheet, n, "交纳日期", f"“{cell_text(r.get('交纳日期'))}”不是日期，请写成 2026-11-20")
            else:
                if paid_on > today:
                    errors.add(sheet, n, "交纳日期", f"{paid_on.isoformat()} 晚于今天")
        if member is not None and months:
            parsed.append(_Row(n, member, months, amount, paid_on))

    # cross-row checks: the same month twice in the file, the ledger's rules, a fixed amount when none is given
    paid = paid_months(session, {p.member.id for p in parsed})
    rates = rates_for(session, {p.member.id for p in parsed}, {int(m[:4]) for p in parsed for m in p.months})
    seen: dict[tuple[int, str], int] = {}
    current = month_key(today)
    result = DuesImportResult()
    for p in parsed:
        dup = [m for m in p.months if (p.member.id, m) in seen]
        for m in dup:
            errors.add(sheet, p.row, "月份", f"{p.member.name} {m} 与第 {seen[(p.member.id, m)]} 行重复")
        for m in p.months:
            seen.setdefault((p.member.id, m), p.row)
        check = check_payment(p.months, current, p.member.joined_on, paid.get(p.member.id, set()))
        for e in check.errors:
            errors.add(sheet, p.row, "月份", f"{p.member.name} {e}")
        if check.late:
            result.warnings.append(f"「{sheet}」表第 {p.row} 行：{p.member.name} {'、'.join(check.late)} "
                                   "补交超过 6 个月，已登记并标注，请支部研究。")
        if p.amount_fen is None:
            missing = sorted({m[:4] for m in p.months if (p.member.id, int(m[:4])) not in rates})
            if missing:
                errors.add(sheet, p.row, "金额（元）",
                           f"{p.member.name} {'、'.join(missing)} 年尚未核定党费：请填写金额，或先设置党费")
    if errors.items:
        raise DuesImportError(errors.items)

    for p in parsed:
        amounts = [(m, p.amount_fen if p.amount_fen is not None else rates[(p.member.id, int(m[:4]))].monthly_fen)
                   for m in p.months]
        record_payments(session, p.member, amounts, p.paid_on, actor if isinstance(actor, Member) else None,
                        source="import")
        result.rows += 1
        result.months += len(amounts)
        result.total_fen += sum(a for _, a in amounts)
    record_audit(session, "dues.import", path.name, actor=actor, detail={
        "rows": result.rows, "months": result.months, "total_fen": result.total_fen,
        "late": list(result.warnings)})
    return result


def write_template(path: Path) -> None:
    wb = Workbook()
    styled_sheet(wb, SHEET, COLUMNS, [["张三", "13800000001", "", "2026-11", 62.5, date(2026, 11, 20)],
                                ["李四", "", "示例第一党支部", "2026-09至2026-11", "", ""]], first=True)
    for (cell,) in wb[SHEET].iter_rows(min_row=2, min_col=4, max_col=4):
        cell.number_format = "@"  # keep 2026-11 as text, not a date
    notes = wb.create_sheet("填写说明")
    for line in ("1. 每行一名党员：月份写 2026-11，或 2026-09至2026-11 表示连续几个月。",
                 "2. 金额（元）为每月金额，不填则按当年核定的月交纳额；交纳日期不填则为导入当天。",
                 "3. 重名的党员请填写手机号或所在党组织区分。",
                 "4. 同一月份不能登记两次；最多预交一个季度；补交超过 6 个月的会登记并标注。",
                 "5. 任何一行有错，整个文件都不会导入，并会指出错在哪一行哪一列。"):
        notes.append([line])
    notes.column_dimensions["A"].width = 90
    wb.save(path)
