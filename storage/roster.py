"""The roster workbook: template, all-or-nothing import (upsert), export in the same layout, removal.

Every error names the sheet, the row and the column in Chinese; one error imports nothing.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.audit import CLI_ACTOR, record_audit
from storage.models import MEMBER_CATEGORIES, ORG_TYPES, ROLE_NAMES, CommitteeTerm, Member, Organization, Role
from storage.names import normalize_name
from storage.orgs import add_years, current_term
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

ORG_SHEET = "党组织"
MEMBER_SHEET = "党员"
ORG_COLUMNS = ("名称", "上级党组织", "类型", "支委会选举日期", "任期年限")
MEMBER_COLUMNS = ("姓名", "手机号", "企业微信账号", "钉钉账号", "所在党组织", "党员类别", "入党日期", "转正日期", "职务")
REQUIRED_MEMBER_COLUMNS = ("姓名", "所在党组织", "党员类别", "入党日期")
ROLE_SPLIT = re.compile(r"[、，,;；/\s]+")


class RosterError(SheetError):
    """The roster file was refused; nothing was imported."""


@dataclass
class ImportResult:
    orgs_created: int = 0
    orgs_updated: int = 0
    members_created: int = 0
    members_updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"导入完成：党组织新增 {self.orgs_created} 个、更新 {self.orgs_updated} 个；"
                f"党员新增 {self.members_created} 人、更新 {self.members_updated} 人、无变化 {self.unchanged} 人。")


@dataclass
class OrgRow:
    row: int
    name: str
    parent: str
    type: str
    elected_on: date | None
    term_years: int | None


@dataclass
class MemberRow:
    row: int
    name: str
    mobile: str | None
    wecom: str | None
    dingtalk: str | None
    org: str
    category: str
    joined_on: date | None
    full_member_on: date | None
    roles: list[str]


# reading ----------------------------------------------------------------------------------------------------


def read_table(path: Path) -> dict[str, Rows]:
    """{sheet: rows}; a .csv is the 党员 sheet alone."""
    return read_sheets(path, MEMBER_SHEET, lambda wb: [ws for ws in wb.worksheets
                                                      if ws.title in (ORG_SHEET, MEMBER_SHEET)], RosterError)


# validation -------------------------------------------------------------------------------------------------


def _check_headers(table, sheet, expected, required, errors: ErrorList) -> None:
    rows = table.get(sheet)
    if rows is None:
        return
    present = set().union(*(r.keys() for _, r in rows)) if rows else set()
    for col in present - set(expected):
        errors.add(sheet, 1, col, f"无法识别的列名（应为：{'、'.join(expected)}）")
    for col in required:
        if rows and col not in present:
            errors.add(sheet, 1, col, "缺少这一列")


def _parse_orgs(rows, errors: ErrorList) -> list[OrgRow]:
    out = []
    for n, r in rows:
        name, parent, typ = cell_text(r.get("名称")), cell_text(r.get("上级党组织")), cell_text(r.get("类型"))
        if not name:
            errors.add(ORG_SHEET, n, "名称", "不能为空")
        if typ not in ORG_TYPES:
            errors.add(ORG_SHEET, n, "类型", f"“{typ}”不是有效类型，应为 {'/'.join(ORG_TYPES)}")
        elected = None
        if cell_text(r.get("支委会选举日期")):
            try:
                elected = parse_date(r.get("支委会选举日期"))
            except ValueError:
                errors.add(ORG_SHEET, n, "支委会选举日期", f"“{cell_text(r.get('支委会选举日期'))}”不是日期，请写成 2024-06-15")
        years = None
        if cell_text(r.get("任期年限")):
            t = cell_text(r.get("任期年限")).removesuffix("年")
            if t.isdigit() and 1 <= int(t) <= 5:
                years = int(t)
            else:
                errors.add(ORG_SHEET, n, "任期年限", f"“{cell_text(r.get('任期年限'))}”应为 3 或 5 这样的年数")
        if years and not elected:
            errors.add(ORG_SHEET, n, "支委会选举日期", "填写了任期年限，但没有填写选举日期")
        if elected and typ == "党小组":
            errors.add(ORG_SHEET, n, "支委会选举日期", "党小组不设委员会，不填选举日期")
        out.append(OrgRow(n, name, parent, typ, elected, years or (3 if elected else None)))
    return out


def _parse_members(rows, errors: ErrorList) -> list[MemberRow]:
    out = []
    for n, r in rows:
        name = normalize_name(cell_text(r.get("姓名")))  # 钱　进 and 曹 操 are stored as 钱进 and 曹操
        if not name:
            errors.add(MEMBER_SHEET, n, "姓名", "不能为空")
        mobile = None
        try:
            mobile = parse_mobile(r.get("手机号"))
        except ValueError:
            errors.add(MEMBER_SHEET, n, "手机号", f"“{cell_text(r.get('手机号'))}”不是 11 位手机号")
        wecom, ding = cell_text(r.get("企业微信账号")) or None, cell_text(r.get("钉钉账号")) or None
        if not (cell_text(r.get("手机号")) or wecom or ding) and name:
            errors.add(MEMBER_SHEET, n, "手机号", "手机号、企业微信账号、钉钉账号至少填一项")
        org = cell_text(r.get("所在党组织"))
        if not org:
            errors.add(MEMBER_SHEET, n, "所在党组织", "不能为空")
        category = cell_text(r.get("党员类别")).removesuffix("党员")
        if category not in MEMBER_CATEGORIES:
            errors.add(MEMBER_SHEET, n, "党员类别", f"“{cell_text(r.get('党员类别'))}”应为 正式 或 预备")
        dates: dict[str, date | None] = {}
        for col in ("入党日期", "转正日期"):
            dates[col] = None
            if cell_text(r.get(col)):
                try:
                    dates[col] = parse_date(r.get(col))
                except ValueError:
                    errors.add(MEMBER_SHEET, n, col, f"“{cell_text(r.get(col))}”不是日期，请写成 2020-07-01")
        if not cell_text(r.get("入党日期")):
            errors.add(MEMBER_SHEET, n, "入党日期", "不能为空")
        if category == "预备" and dates["转正日期"]:
            errors.add(MEMBER_SHEET, n, "转正日期", "预备党员还没有转正，不应填写转正日期")
        if dates["入党日期"] and dates["转正日期"] and dates["转正日期"] < dates["入党日期"]:
            errors.add(MEMBER_SHEET, n, "转正日期", "早于入党日期")
        roles = [x for x in ROLE_SPLIT.split(cell_text(r.get("职务"))) if x]
        for role in roles:
            if role not in ROLE_NAMES:
                errors.add(MEMBER_SHEET, n, "职务", f"“{role}”不是可识别的职务（可用：{'、'.join(ROLE_NAMES)}）")
        if len(set(roles)) != len(roles):
            errors.add(MEMBER_SHEET, n, "职务", "同一职务写了两次")
        out.append(MemberRow(n, name, mobile, wecom, ding, org, category, dates["入党日期"], dates["转正日期"], roles))
    return out


def _check_duplicates(members: list[MemberRow], errors: ErrorList) -> None:
    for column, attr in (("手机号", "mobile"), ("企业微信账号", "wecom"), ("钉钉账号", "dingtalk")):
        seen: dict[str, int] = {}
        for m in members:
            value = getattr(m, attr)
            if not value:
                continue
            if value in seen:
                errors.add(MEMBER_SHEET, m.row, column, f"“{value}”与第 {seen[value]} 行重复：同一个人列了两次")
            else:
                seen[value] = m.row


def _match(session: Session, m: MemberRow, errors: ErrorList) -> Member | None:
    """The existing member this row updates, found by mobile or platform account; a row that points at two
    different people is refused."""
    found: dict[int, tuple[str, Member]] = {}
    for column, col, value in (("手机号", Member.mobile, m.mobile), ("企业微信账号", Member.wecom_userid, m.wecom),
                               ("钉钉账号", Member.dingtalk_userid, m.dingtalk)):
        if value:
            hit = session.scalars(select(Member).where(col == value)).first()
            if hit is not None:
                found.setdefault(hit.id, (column, hit))
    if len(found) > 1:
        (c1, a), (c2, b) = list(found.values())[:2]
        errors.add(MEMBER_SHEET, m.row, c2, f"{c1}属于已登记的{a.name}，{c2}却属于{b.name}：请核对")
        return None
    return next(iter(found.values()))[1] if found else None


# import -----------------------------------------------------------------------------------------------------


def import_roster(session: Session, path: Path, actor: Member | str = CLI_ACTOR) -> ImportResult:
    """Validate everything first; write only if there is no error. The caller's transaction commits."""
    path = Path(path)
    table = read_table(path)
    errors = ErrorList()
    if ORG_SHEET not in table and MEMBER_SHEET not in table:
        raise RosterError([f"文件中没有「{ORG_SHEET}」或「{MEMBER_SHEET}」工作表：请用 zhibu roster template 生成的模板"])
    _check_headers(table, ORG_SHEET, ORG_COLUMNS, ("名称", "类型"), errors)
    _check_headers(table, MEMBER_SHEET, MEMBER_COLUMNS, REQUIRED_MEMBER_COLUMNS, errors)
    if errors.items:
        raise RosterError(errors.items)
    org_rows = _parse_orgs(table.get(ORG_SHEET, []), errors)
    member_rows = _parse_members(table.get(MEMBER_SHEET, []), errors)

    existing = {o.name: o for o in session.scalars(select(Organization))}
    file_orgs: dict[str, OrgRow] = {}
    for o in org_rows:
        if o.name in file_orgs:
            errors.add(ORG_SHEET, o.row, "名称", f"“{o.name}”与第 {file_orgs[o.name].row} 行重复")
        elif o.name:
            file_orgs[o.name] = o
    known_type = {**{n: o.type for n, o in existing.items()}, **{n: o.type for n, o in file_orgs.items()}}
    for o in org_rows:
        if o.parent and o.parent not in known_type:
            errors.add(ORG_SHEET, o.row, "上级党组织", f"找不到“{o.parent}”：请先在本表中列出它")
        elif o.parent == o.name and o.name:
            errors.add(ORG_SHEET, o.row, "上级党组织", "不能是自己")
        elif o.type == "党小组" and known_type.get(o.parent) != "党支部":
            errors.add(ORG_SHEET, o.row, "上级党组织", "党小组的上级应为党支部")
    for m in member_rows:
        if m.org and m.org not in known_type:
            errors.add(MEMBER_SHEET, m.row, "所在党组织", f"找不到“{m.org}”：请在「{ORG_SHEET}」表中列出，或先导入党组织")
    _check_duplicates(member_rows, errors)
    matches = {m.row: _match(session, m, errors) for m in member_rows}

    # a branch listed in this file must end up with a 书记
    secretaries = {m.org for m in member_rows if "书记" in m.roles}
    in_file_branches = {n for n, o in file_orgs.items() if o.type == "党支部"} | {
        m.org for m in member_rows if known_type.get(m.org) == "党支部"}
    touched_ids = {matches[m.row].id for m in member_rows if matches[m.row] is not None}
    for branch in sorted(in_file_branches - secretaries):
        org = existing.get(branch)
        kept = org is not None and session.scalars(select(Role).join(Member).where(
            Role.organization_id == org.id, Role.role == "书记", Member.status == "active",
            Member.id.not_in(touched_ids or {-1}))).first()
        if not kept:
            row = file_orgs[branch].row if branch in file_orgs else None
            errors.add(ORG_SHEET if row else MEMBER_SHEET, row, "名称" if row else "职务",
                       f"党支部“{branch}”没有书记：请在「{MEMBER_SHEET}」表中给一名党员填写职务“书记”")
    if errors.items:
        raise RosterError(errors.items)

    result = ImportResult()
    _write_orgs(session, org_rows, existing, result)
    _write_members(session, member_rows, matches, result)
    session.flush()
    result.warnings = warnings_for(session, {*file_orgs, *(m.org for m in member_rows)})
    record_audit(session, "roster.import", path.name, actor=actor, detail={
        "orgs_created": result.orgs_created, "orgs_updated": result.orgs_updated,
        "members_created": result.members_created, "members_updated": result.members_updated})
    return result


def _write_orgs(session: Session, rows: list[OrgRow], existing: dict[str, Organization], result: ImportResult):
    # parents before children: repeat passes until every row is placed (the tree is shallow)
    pending = list(rows)
    while pending:
        progressed, rest = False, []
        for o in pending:
            if o.parent and o.parent not in existing:
                rest.append(o)
                continue
            org = existing.get(o.name)
            parent_id = existing[o.parent].id if o.parent else None
            if org is None:
                org = Organization(name=o.name, type=o.type, parent_id=parent_id, settings={})
                session.add(org)
                session.flush()
                existing[o.name] = org
                result.orgs_created += 1
            elif (org.type, org.parent_id) != (o.type, parent_id):
                org.type, org.parent_id = o.type, parent_id
                result.orgs_updated += 1
            if o.elected_on:
                _upsert_term(session, org, o.elected_on, o.term_years or 3)
            progressed = True
        if not progressed:
            raise RosterError([f"「{ORG_SHEET}」表第 {o.row} 行「上级党组织」：上下级关系成环" for o in rest])
        pending = rest


def _upsert_term(session: Session, org: Organization, elected_on: date, years: int) -> None:
    term = session.scalars(select(CommitteeTerm).where(CommitteeTerm.organization_id == org.id,
                                                       CommitteeTerm.elected_on == elected_on)).first()
    if term is None:
        session.add(CommitteeTerm(organization_id=org.id, elected_on=elected_on, term_years=years,
                                  ends_on=add_years(elected_on, years)))
    elif term.term_years != years:
        term.term_years, term.ends_on = years, add_years(elected_on, years)


def _write_members(session: Session, rows: list[MemberRow], matches: dict[int, Member | None], result):
    orgs = {o.name: o for o in session.scalars(select(Organization))}
    for m in rows:
        org = orgs[m.org]
        member = matches[m.row]
        values = {"name": m.name, "mobile": m.mobile, "wecom_userid": m.wecom, "dingtalk_userid": m.dingtalk,
                  "organization_id": org.id, "category": m.category, "joined_on": m.joined_on,
                  "full_member_on": m.full_member_on, "status": "active"}
        wanted_roles = {(r, org.id) for r in m.roles}
        if member is None:
            member = Member(**values)
            session.add(member)
            session.flush()
            result.members_created += 1
            changed = False
        else:
            changed = any(getattr(member, k) != v for k, v in values.items())
            for k, v in values.items():
                setattr(member, k, v)
        current = {(r.role, r.organization_id): r for r in member.roles}
        for key in set(current) - wanted_roles:
            member.roles.remove(current[key])
            changed = True
        for role, org_id in wanted_roles - set(current):
            member.roles.append(Role(role=role, organization_id=org_id))
            changed = True
        if matches[m.row] is not None:
            if changed:
                result.members_updated += 1
            else:
                result.unchanged += 1


def warnings_for(session: Session, org_names: set[str]) -> list[str]:
    """Rules that deserve a warning, not a refusal (条例 and 党章 thresholds)."""
    out = []
    for org in session.scalars(select(Organization).where(Organization.name.in_(org_names))):
        members = [m for m in org.members if m.status == "active"]
        if org.type == "党支部":
            full = sum(1 for m in members if m.category == "正式")
            if full >= 7 and current_term(session, org) is None:
                out.append(f"{org.name}有 {full} 名正式党员，应设立支部委员会，但没有登记支委会选举日期。")
            if len(members) > 50:
                out.append(f"{org.name}有 {len(members)} 名党员，超过 50 人，宜按规定分设党支部。")
        if org.type == "党小组" and len(members) < 3:
            out.append(f"党小组“{org.name}”只有 {len(members)} 名党员，少于 3 人。")
    return out


# template and export ----------------------------------------------------------------------------------------

def write_template(path: Path) -> None:
    wb = Workbook()
    styled_sheet(wb, ORG_SHEET, ORG_COLUMNS, [
        ["示例机关党委", "", "党委", "", ""],
        ["示例第一党支部", "示例机关党委", "党支部", date(2024, 6, 15), 3],
        ["示例第一党小组", "示例第一党支部", "党小组", "", ""],
    ], first=True)
    styled_sheet(wb, MEMBER_SHEET, MEMBER_COLUMNS, [
        ["张三", "13800000001", "zhangsan", "", "示例第一党支部", "正式", date(2010, 7, 1), date(2011, 7, 1), "书记"],
        ["李四", "13800000002", "", "lisi", "示例第一党支部", "预备", date(2026, 3, 1), "", "组织委员、党费管理员"],
    ])
    notes = wb.create_sheet("填写说明")
    for line in (
        "1. 先填「党组织」表：名称唯一；类型为 党委/党总支/党支部/党小组；上级党组织填本表或系统中已有的名称。",
        "2. 支委会选举日期、任期年限（一般 3 年，上级规定的填 5）用于换届提醒；党小组不填。",
        "3.「党员」表：手机号、企业微信账号、钉钉账号至少填一项，系统据此识别同一个人；再次导入会更新，不会重复。",
        "4. 党员类别为 正式 或 预备；预备党员不填转正日期。职务可填多个，用顿号分隔。",
        "5. 日期写成 2024-06-15 或用 Excel 日期格式。任何一行有错，整个文件都不会导入，并会指出错在哪一行哪一列。",
        "6. 导入前请删除示例行。没有列在文件中的党员不会被删除；删除请用 zhibu roster remove。",
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 110
    wb.save(path)


def export_roster(session: Session, path: Path) -> tuple[int, int]:
    orgs = _tree_order(list(session.scalars(select(Organization))))
    org_rows = []
    for o in orgs:
        term = current_term(session, o)
        org_rows.append([o.name, o.parent.name if o.parent else "", o.type,
                         term.elected_on if term else None, term.term_years if term else None])
    members = session.scalars(select(Member).where(Member.status == "active").order_by(Member.organization_id,
                                                                                        Member.id)).all()
    member_rows = []
    for m in members:
        roles = [r.role for r in m.roles if r.organization_id == m.organization_id]
        member_rows.append([m.name, m.mobile, m.wecom_userid, m.dingtalk_userid, m.organization.name, m.category,
                            m.joined_on, m.full_member_on, "、".join(sorted(roles, key=ROLE_NAMES.index))])
    wb = Workbook()
    styled_sheet(wb, ORG_SHEET, ORG_COLUMNS, org_rows, first=True)
    styled_sheet(wb, MEMBER_SHEET, MEMBER_COLUMNS, member_rows)
    wb.save(path)
    return len(org_rows), len(member_rows)


def _tree_order(orgs: list[Organization]) -> list[Organization]:
    by_parent: dict[int | None, list[Organization]] = defaultdict(list)
    for o in orgs:
        by_parent[o.parent_id].append(o)
    out: list[Organization] = []

    def walk(pid):
        for o in sorted(by_parent.get(pid, []), key=lambda x: x.id):
            out.append(o)
            walk(o.id)

    walk(None)
    return out


# removal ----------------------------------------------------------------------------------------------------


def find_for_removal(session: Session, who: str) -> list[Member]:
    who = who.strip()
    return list(session.scalars(select(Member).where(Member.status == "active").where(
        (Member.name == normalize_name(who)) | (Member.mobile == who) | (Member.wecom_userid == who) | (Member.dingtalk_userid == who))))


def remove_member(session: Session, member: Member, reason: str, actor: Member | str = CLI_ACTOR) -> None:
    """Marks the member removed (history such as attendance and dues stays); roles are withdrawn."""
    member.status = "removed"
    roles = [r.role for r in member.roles]
    member.roles.clear()
    record_audit(session, "roster.remove", member.name, actor=actor,
                 detail={"member_id": member.id, "roles": roles, "reason": reason})


