"""The 发展党员工作台账 workbook: a row per person, a column per milestone date — the layout secretaries keep.

Template, export and an all-or-nothing import: every error names the sheet, the row and the column; every imported
date is checked by the rules of storage/development_rules.py as an entry in the chat is (hard breaks refuse the
file, late steps come back as warnings). A person is matched by an account or mobile, else by branch and name;
dates already recorded are left alone, a date that differs from the recorded one is refused (revoke it first).
"""
from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.audit import CLI_ACTOR, record_audit
from storage.development import (
    DevelopmentError,
    PersonInfo,
    account_owners,
    create_record,
    enter,
    people_categories,
    records_in,
    to_record,
    update_person,
)
from storage.development_rules import (
    ORDER,
    STEPS,
    Milestone,
    Record,
    Workdays,
    check_entry,
    probation_end,
    stage,
    with_publicity_end,
)
from storage.models import DevelopmentRecord, Member, Organization
from storage.sheets import ErrorList, SheetError, cell_text, parse_date, parse_mobile, read_sheets, styled_sheet

SHEET = "发展党员工作台账"
PERSON_COLUMNS = ("姓名", "所在党支部", "出生日期", "手机号", "企业微信账号", "钉钉账号")
EXPORT_ONLY = ("当前阶段", "预备期满日期")  # written for reading; ignored on import
# (column, step, field): "day" the milestone's date, "end" its last day, "days" several dates (the reviews),
# "names" 、-separated names, "conclusion"/"note" text, the rest whole numbers
STEP_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("递交入党申请书日期", "application", "day"),
    ("派人谈话日期", "talk", "day"),
    ("确定入党积极分子日期", "activist", "day"),
    ("积极分子备案日期", "activist_filed", "day"),
    ("培养联系人", "contacts", "names"),
    ("指定培养联系人日期", "contacts", "day"),
    ("半年考察日期", "review", "days"),
    ("确定发展对象日期", "object", "day"),
    ("上级党委同意（备案）日期", "object_upper", "day"),
    ("公示开始日期", "publicity", "day"),
    ("公示结束日期", "publicity", "end"),
    ("入党介绍人", "introducers", "names"),
    ("确定入党介绍人日期", "introducers", "day"),
    ("政审日期", "political_review", "day"),
    ("政审结论", "political_review", "conclusion"),
    ("培训开始日期", "training", "day"),
    ("培训结束日期", "training", "end"),
    ("培训天数", "training", "days_count"),
    ("培训学时", "training", "hours"),
    ("支委会审查日期", "committee_review", "day"),
    ("上级党委预审日期", "prereview", "day"),
    ("填写入党志愿书日期", "volunteer_form", "day"),
    ("支部大会日期", "branch_meeting", "day"),
    ("支部大会应到人数", "branch_meeting", "due"),
    ("支部大会实到人数", "branch_meeting", "present"),
    ("支部大会赞成人数", "branch_meeting", "yes"),
    ("上级党委谈话日期", "upper_talk", "day"),
    ("上级党委审批日期", "approval", "day"),
    ("审批备案日期", "upper_filed", "day"),
    ("入党宣誓日期", "oath", "day"),
    ("延长预备期日期", "extension", "day"),
    ("延长月数", "extension", "months"),
    ("转正申请日期", "conversion_application", "day"),
    ("转正大会日期", "conversion_meeting", "day"),
    ("转正大会应到人数", "conversion_meeting", "due"),
    ("转正大会实到人数", "conversion_meeting", "present"),
    ("转正大会赞成人数", "conversion_meeting", "yes"),
    ("转正审批日期", "conversion_approval", "day"),
    ("材料归档日期", "archive", "day"),
    ("终止日期", "stop", "day"),
    ("终止原因", "stop", "note"),
)
COLUMNS = (*PERSON_COLUMNS, *EXPORT_ONLY, *(c for c, _, _ in STEP_COLUMNS), "备注")
DAY_COLUMN = {step: col for col, step, f in STEP_COLUMNS if f in ("day", "days")}
NUMBER_FIELDS = {"days_count": "days", "hours": "hours", "due": "due", "present": "present", "yes": "yes",
                 "months": "months"}


class DevelopmentSheetError(SheetError):
    """The workbook was refused; nothing was imported."""


# --- export ---------------------------------------------------------------------------------------------------------
def _row_for(row: DevelopmentRecord) -> list[object]:
    record = to_record(row)
    values: dict[str, object] = {
        "姓名": row.name, "所在党支部": row.organization.name, "出生日期": row.birth_on, "手机号": row.mobile,
        "企业微信账号": row.wecom_userid, "钉钉账号": row.dingtalk_userid, "当前阶段": stage(record),
        "预备期满日期": probation_end(record) if record.has("approval") else None, "备注": row.note}
    for col, step, fld in STEP_COLUMNS:
        ms = [m for m in row.milestones if m.step == step]
        if not ms:
            continue
        m = max(ms, key=lambda x: x.day)
        data = m.data or {}
        if fld == "day":
            values[col] = m.day
        elif fld == "days":
            values[col] = "、".join(x.day.isoformat() for x in sorted(ms, key=lambda x: x.day))
        elif fld == "end":
            values[col] = m.end_day
        elif fld == "names":
            values[col] = "、".join(data.get("names", ()))
        elif fld == "note":
            values[col] = m.note
        elif fld == "conclusion":
            values[col] = data.get("conclusion")
        else:
            values[col] = data.get(NUMBER_FIELDS[fld])
    return [values.get(c) for c in COLUMNS]


def export_workbook(session: Session, branches: Iterable[Organization], today: date) -> tuple[bytes, int]:
    rows = records_in(session, [o.id for o in branches])
    wb = Workbook()
    styled_sheet(wb, SHEET, COLUMNS, [_row_for(r) for r in rows], first=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), len(rows)


def development_filename(branches: list[Organization], on: date) -> str:
    title = branches[0].name if len(branches) == 1 else f"所辖{len(branches)}个党支部"
    return f"{title}发展党员工作台账{on.isoformat()}.xlsx"


def export_to(session: Session, path: Path, branches: Iterable[Organization], today: date) -> int:
    data, count = export_workbook(session, branches, today)
    Path(path).write_bytes(data)
    return count


def write_template(path: Path) -> None:
    wb = Workbook()
    example = {"姓名": "张三", "所在党支部": "示例第一党支部", "出生日期": date(2000, 5, 1), "手机号": "13800000001",
               "企业微信账号": "zhangsan", "递交入党申请书日期": date(2025, 3, 3), "派人谈话日期": date(2025, 3, 20),
               "确定入党积极分子日期": date(2025, 9, 10), "积极分子备案日期": date(2025, 9, 15),
               "培养联系人": "李四、王五", "指定培养联系人日期": date(2025, 9, 10), "半年考察日期": "2026-03-05",
               "备注": "示例行，导入前请删除"}
    styled_sheet(wb, SHEET, COLUMNS, [[example.get(c) for c in COLUMNS]], first=True)
    notes = wb.create_sheet("填写说明")
    for line in (
        "1. 每人一行，每个环节一列，填日期（2026-04-10 或 Excel 日期格式）。没有到的环节留空。",
        "2. 姓名、所在党支部必填；手机号、企业微信账号、钉钉账号用于识别同一个人，也让本人能查“我的入党进度”。",
        "3. 半年考察日期可填多个，用顿号分隔；培养联系人（1至2名）、入党介绍人（2名）填正式党员姓名，用顿号分隔。",
        "4. 公示结束日期可不填，按开始日起第5个工作日计算；培训填天数或学时；支部大会填应到、实到、赞成人数。",
        "5. 导入时按《中国共产党发展党员工作细则》逐项核对（按各环节日期适用2014年或2026年版本）：违反硬性规定的"
        "（如培养不满1年确定发展对象、公示不足5个工作日），整个文件不导入，并指出哪一行哪一列；超过时限的照常导入并提醒。",
        "6. 已登记过的日期保持不变；与系统中不同的日期会被拒绝，请先在聊天中“撤销发展登记”再导入。",
        "7. 当前阶段、预备期满日期两列由系统导出时填写，导入时不读取。",
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 120
    wb.save(path)


# --- import ---------------------------------------------------------------------------------------------------------
@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    milestones: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"导入完成：新建发展记录 {self.created} 人、更新 {self.updated} 人、无变化 {self.unchanged} 人；"
                f"新登记环节 {self.milestones} 个。")


@dataclass
class Planned:
    """One row of the file, read and checked: the person, the record it updates, the milestones to add."""

    line: int
    name: str
    org: Organization
    info: PersonInfo
    note: str | None
    record: DevelopmentRecord | None
    new: list[tuple[Milestone, str | None, str]] = field(default_factory=list)  # (milestone, note, column)


def _date(value: object, line: int, col: str, errors: ErrorList) -> date | None:
    if not cell_text(value):
        return None
    try:
        return parse_date(value)
    except ValueError:
        errors.add(SHEET, line, col, f"“{cell_text(value)}”不是日期，请写成 2026-04-10")
        return None


def _read_milestones(values: dict[str, object], line: int, errors: ErrorList) -> list[tuple[Milestone, str | None, str]]:
    by_step: dict[str, dict[str, Any]] = {}
    for col, step, fld in STEP_COLUMNS:
        raw = values.get(col)
        if not cell_text(raw):
            continue
        slot = by_step.setdefault(step, {"data": {}, "cols": []})
        slot["cols"].append(col)
        if fld == "day":
            slot["day"] = _date(raw, line, col, errors)
        elif fld == "end":
            slot["end"] = _date(raw, line, col, errors)
        elif fld == "days":
            slot["days"] = [_date(p, line, col, errors) for p in cell_text(raw).replace("，", "、").split("、") if p]
        elif fld == "names":
            slot["data"]["names"] = [n.strip() for n in cell_text(raw).replace("，", "、").split("、") if n.strip()]
        elif fld in ("conclusion", "note"):
            slot[fld] = cell_text(raw)
        else:
            text = cell_text(raw).removesuffix("人").removesuffix("天").removesuffix("学时").removesuffix("个月")
            if text.isdigit():
                slot["data"][NUMBER_FIELDS[fld]] = int(text)
            else:
                errors.add(SHEET, line, col, f"“{cell_text(raw)}”应为整数")
    out = []
    for step, slot in by_step.items():
        col = DAY_COLUMN[step]
        if step == "review":
            out += [(Milestone(step, d), None, col) for d in slot.get("days", []) if d]
            continue
        if "day" not in slot:
            if not any(c == col for c in slot["cols"]):
                errors.add(SHEET, line, slot["cols"][0], f"填写了“{slot['cols'][0]}”，但没有填写“{col}”")
            continue
        if slot["day"] is None:
            continue
        data = dict(slot["data"])
        if slot.get("conclusion"):
            data["conclusion"] = slot["conclusion"]
        out.append((Milestone(step, slot["day"], slot.get("end"), data), slot.get("note"), col))
    return sorted(out, key=lambda x: (x[0].day, ORDER[x[0].step]))


def _match(session: Session, org: Organization, name: str, info: PersonInfo) -> DevelopmentRecord | None:
    for attr, key in (("wecom_userid", "wecom"), ("dingtalk_userid", "dingtalk"), ("mobile", "mobile")):
        value = getattr(info, key)
        if value:
            hit = session.scalars(select(DevelopmentRecord).where(getattr(DevelopmentRecord, attr) == value)).first()
            if hit is not None:
                return hit
    return session.scalars(select(DevelopmentRecord).where(DevelopmentRecord.organization_id == org.id,
                                                           DevelopmentRecord.name == name)).first()


def _plan_row(session: Session, line: int, values: dict[str, object], branches: dict[str, Organization],
              errors: ErrorList) -> Planned | None:
    name, branch = cell_text(values.get("姓名")), cell_text(values.get("所在党支部"))
    if not name:
        errors.add(SHEET, line, "姓名", "不能为空")
    org = branches.get(branch)
    if not branch:
        errors.add(SHEET, line, "所在党支部", "不能为空")
    elif org is None:
        errors.add(SHEET, line, "所在党支部", f"系统中没有党支部“{branch}”，请写名单中的全称")
    info = PersonInfo(birth=_date(values.get("出生日期"), line, "出生日期", errors),
                      wecom=cell_text(values.get("企业微信账号")) or None,
                      dingtalk=cell_text(values.get("钉钉账号")) or None)
    try:
        info.mobile = parse_mobile(values.get("手机号"))
    except ValueError:
        errors.add(SHEET, line, "手机号", f"“{cell_text(values.get('手机号'))}”不是 11 位手机号")
    new = _read_milestones(values, line, errors)
    if not name or org is None:
        return None
    record = _match(session, org, name, info)
    if record is not None and (record.organization_id != org.id or record.name != name):
        errors.add(SHEET, line, "姓名", f"这些账号已登记在{record.organization.name}{record.name}的发展记录中，请核对")
        return None
    problems, _ = account_owners(session, record, name, info)
    for label, message in problems.items():
        errors.add(SHEET, line, label, message)
    return Planned(line, name, org, info, cell_text(values.get("备注")) or None, record, new)


def _check_row(session: Session, p: Planned, today: date, cal: Workdays, errors: ErrorList,
               warnings: list[str]) -> None:
    """Each new milestone against the rules, in date order, as if entered one by one (a refused one still counts,
    so one mistake is reported once, not again for every later step)."""
    stored = to_record(p.record) if p.record is not None else Record(p.name)
    state = Record(p.name, p.info.birth or stored.birth, stored.milestones)
    kept = []
    names = {n for m, _, _ in p.new for n in m.data.get("names", ())}
    people = people_categories(session, p.org, names)
    for m, note, col in p.new:
        old = [x for x in stored.milestones if x.step == m.step]
        if STEPS[m.step].repeat and any(x.day == m.day for x in old):
            continue
        if old and not STEPS[m.step].repeat:
            if old[0].day != m.day:
                errors.add(SHEET, p.line, col, f"与系统中已登记的日期（{old[0].day.isoformat()}）不同；要更正请先在聊天中"
                                               f"发送“撤销发展登记 {p.name} {STEPS[m.step].short}”")
            continue
        m = with_publicity_end(m, cal)
        verdict = check_entry(state, m, today, cal, people)
        for e in verdict.errors:
            errors.add(SHEET, p.line, col, e)
        warnings += [f"「{SHEET}」表第 {p.line} 行「{col}」列：{w}" for w in verdict.warnings]
        state = state.with_(m)
        kept.append((m, note, col))
    p.new = kept


def import_development(session: Session, path: Path, *, today: date, cal: Workdays, at: datetime,
                       actor: Member | str = CLI_ACTOR) -> ImportResult:
    """Validate the whole file first; write only if there is no error. The caller's transaction commits."""
    path = Path(path)
    table = read_sheets(path, SHEET, lambda wb: [ws for ws in wb.worksheets if ws.title == SHEET],
                        DevelopmentSheetError)
    if SHEET not in table:
        raise DevelopmentSheetError([f"文件中没有「{SHEET}」工作表：请用 zhibu develop template 生成的模板"])
    rows = table[SHEET]
    errors = ErrorList()
    present = set().union(*(r.keys() for _, r in rows)) if rows else set()
    for col in sorted(present - set(COLUMNS)):
        errors.add(SHEET, 1, col, "无法识别的列名（可用的列见模板的第一行）")
    for col in ("姓名", "所在党支部"):
        if rows and col not in present:
            errors.add(SHEET, 1, col, "缺少这一列")
    if errors.items:
        raise DevelopmentSheetError(errors.items)
    branches = {o.name: o for o in session.scalars(select(Organization).where(Organization.type == "党支部"))}
    planned: list[Planned] = []
    seen: dict[tuple[str, str], int] = {}
    for line, values in rows:
        p = _plan_row(session, line, values, branches, errors)
        if p is None:
            continue
        key = (p.org.name, p.name)
        if key in seen:
            errors.add(SHEET, line, "姓名", f"与第 {seen[key]} 行是同一个人：每人只写一行")
            continue
        seen[key] = line
        planned.append(p)
    result = ImportResult()
    for p in planned:
        _check_row(session, p, today, cal, errors, result.warnings)
    if errors.items:
        raise DevelopmentSheetError(errors.items)

    for p in planned:
        created = p.record is None
        record = p.record or create_record(session, p.org, p.name, at)
        changed = update_person(session, record, p.info)
        if p.note and record.note != p.note:
            record.note, changed = p.note, [*changed, "备注"]
        for m, note, col in p.new:
            try:
                enter(session, record, m, today=today, cal=cal, actor=actor, at=at, note=note, audit=False)
            except DevelopmentError as err:  # the check above passed: only a change made meanwhile gets here
                raise DevelopmentSheetError([f"「{SHEET}」表第 {p.line} 行「{col}」列：{e}" for e in err.errors]) from None
        result.milestones += len(p.new)
        if created:
            result.created += 1
        elif p.new or changed:
            result.updated += 1
        else:
            result.unchanged += 1
    record_audit(session, "development.import", path.name, actor=actor, at=at, detail={
        "created": result.created, "updated": result.updated, "milestones": result.milestones,
        "warnings": len(result.warnings)})
    session.flush()
    return result
