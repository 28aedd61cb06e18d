"""发展党员 records: finding them, entering a milestone (checked by storage/development_rules.py), revoking one,
and what an entry does to the roster.

One person, one record: approval as a 预备党员 adds the person to the roster (category 预备, 入党日期 = the 支部大会's
date) or updates the member already there with the same account; 转正 makes that member 正式 with 转正日期 = the day
the 预备期 ends (党龄 counts from it). Revoking either undoes what it did.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from storage.audit import CLI_ACTOR, record_audit
from storage.development_rules import (
    STEPS,
    Milestone,
    Record,
    Workdays,
    check_entry,
    dependents,
    probation_end,
    with_publicity_end,
)
from storage.models import DevelopmentMilestone, DevelopmentRecord, Member, Organization

ACCOUNT_COLUMNS = {"wecom": DevelopmentRecord.wecom_userid, "dingtalk": DevelopmentRecord.dingtalk_userid}
PLATFORM_ACCOUNTS = {"wecom": ("wecom",), "dingtalk": ("dingtalk",), "console": ("wecom", "dingtalk")}
PEOPLE_STEPS = ("contacts", "introducers")


class DevelopmentError(Exception):
    """An entry refused: every reason, in Chinese; nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


# --- reading --------------------------------------------------------------------------------------------------------
def to_milestone(row: DevelopmentMilestone) -> Milestone:
    return Milestone(row.step, row.day, row.end_day, dict(row.data or {}))


def to_record(row: DevelopmentRecord) -> Record:
    return Record(row.name, row.birth_on, tuple(to_milestone(m) for m in row.milestones))


def records_in(session: Session, org_ids: Iterable[int]) -> list[DevelopmentRecord]:
    ids = sorted(set(org_ids))
    if not ids:
        return []
    return list(session.scalars(select(DevelopmentRecord).options(selectinload(DevelopmentRecord.milestones))
                                .where(DevelopmentRecord.organization_id.in_(ids))
                                .order_by(DevelopmentRecord.organization_id, DevelopmentRecord.id)))


def find_named(session: Session, org_ids: Iterable[int], name: str) -> list[DevelopmentRecord]:
    return list(session.scalars(select(DevelopmentRecord).where(
        DevelopmentRecord.organization_id.in_(set(org_ids)), DevelopmentRecord.name == name.strip())
        .order_by(DevelopmentRecord.organization_id, DevelopmentRecord.id)))


def find_by_account(session: Session, platform: str, user_id: str) -> DevelopmentRecord | None:
    """The record of the person writing from this account (a person in the pipeline, perhaps not in the roster)."""
    for column in PLATFORM_ACCOUNTS.get(platform, ()):
        found = session.scalars(select(DevelopmentRecord).where(ACCOUNT_COLUMNS[column] == user_id)).first()
        if found is not None:
            return found
    return None


def record_of_member(session: Session, member: Member) -> DevelopmentRecord | None:
    found = session.scalars(select(DevelopmentRecord).where(DevelopmentRecord.member_id == member.id)).first()
    if found is not None:
        return found
    accounts = [(DevelopmentRecord.wecom_userid, member.wecom_userid),
                (DevelopmentRecord.dingtalk_userid, member.dingtalk_userid)]
    clauses = [col == value for col, value in accounts if value]
    return session.scalars(select(DevelopmentRecord).where(or_(*clauses))).first() if clauses else None


def people_categories(session: Session, org: Organization, names: Iterable[str]) -> dict[str, str | None]:
    """Each name's category in the roster (正式 / 预备): the branch and its 党小组 first, then anywhere."""
    names = sorted(set(names))
    if not names:
        return {}
    units = [org.id, *session.scalars(select(Organization.id).where(Organization.parent_id == org.id))]
    out: dict[str, str | None] = dict.fromkeys(names)
    rows = session.execute(select(Member.name, Member.category, Member.organization_id).where(
        Member.name.in_(names), Member.status == "active").order_by(Member.id)).all()
    for name, category, _org_id in sorted(rows, key=lambda r: r[2] not in units):
        if out[name] is None:
            out[name] = category
    return out


# --- the person -----------------------------------------------------------------------------------------------------
@dataclass
class PersonInfo:
    birth: date | None = None
    mobile: str | None = None
    wecom: str | None = None
    dingtalk: str | None = None

    def given(self) -> bool:
        return any(v is not None for v in (self.birth, self.mobile, self.wecom, self.dingtalk))


def create_record(session: Session, org: Organization, name: str, at: datetime) -> DevelopmentRecord:
    name = name.strip()
    if not name or len(name) > 50:
        raise DevelopmentError(["姓名不能为空，也不能超过50个字。"])
    row = DevelopmentRecord(organization_id=org.id, name=name, created_at=at, updated_at=at)
    session.add(row)
    session.flush()
    return row


ACCOUNT_FIELDS = (("手机号", "mobile", "mobile"), ("企业微信账号", "wecom_userid", "wecom"),
                  ("钉钉账号", "dingtalk_userid", "dingtalk"))


def account_owners(session: Session, record: DevelopmentRecord | None, name: str,
                   info: PersonInfo) -> tuple[dict[str, str], Member | None]:
    """({column label: why it cannot be used}, the roster member these accounts show the person already is).

    An account on another record is refused (one person, one record); an account of an active member is the
    same person when the names agree (a 预备党员 whose record is kept here), else refused."""
    problems: dict[str, str] = {}
    same: Member | None = None
    for label, attr, key in ACCOUNT_FIELDS:
        value = getattr(info, key)
        if value is None or (record is not None and getattr(record, attr) == value):
            continue
        other = session.scalars(select(DevelopmentRecord).where(getattr(DevelopmentRecord, attr) == value)).first()
        if other is not None and other is not record:
            problems[label] = f"{label}{value}已登记在{other.name}的发展记录中：同一个人只能有一份记录。"
            continue
        member = session.scalars(select(Member).where(getattr(Member, attr) == value,
                                                      Member.status == "active")).first()
        if member is None or (record is not None and member.id == record.member_id):
            continue
        if member.name != name or (record is not None and record.member_id is not None):
            problems[label] = f"{label}{value}属于党员名单中的{member.name}，请核对。"
        else:
            same = member
    return problems, same


def update_person(session: Session, record: DevelopmentRecord, info: PersonInfo) -> list[str]:
    """Sets what `info` gives; returns what changed, in Chinese. An account another person holds is refused."""
    problems, same = account_owners(session, record, record.name, info)
    if problems:
        raise DevelopmentError(list(problems.values()))
    changed = []
    for label, attr, key in ACCOUNT_FIELDS:
        value = getattr(info, key)
        if value is not None and getattr(record, attr) != value:
            setattr(record, attr, value)
            changed.append(f"{label}{value}")
    if same is not None:
        record.member = same
    if info.birth is not None and record.birth_on != info.birth:
        record.birth_on = info.birth
        changed.append(f"出生日期{info.birth.isoformat()}")
    return changed


# --- entering a milestone -------------------------------------------------------------------------------------------
@dataclass
class Entered:
    row: DevelopmentMilestone
    warnings: list[str]
    version: str
    notes: list[str] = field(default_factory=list)  # what it did to the roster


def actor_name(actor: Member | str) -> tuple[int | None, str]:
    return (actor.id, actor.name) if isinstance(actor, Member) else (None, actor)


def verdict_for(session: Session, record: DevelopmentRecord, new: Milestone, today: date, cal: Workdays):
    """The rules' verdict on `new` for this record as stored (the roster consulted for the people it names)."""
    new = with_publicity_end(new, cal)
    people = None
    if new.step in PEOPLE_STEPS:
        people = people_categories(session, record.organization, new.data.get("names", ()))
    return new, check_entry(to_record(record), new, today, cal, people)


def enter(session: Session, record: DevelopmentRecord, new: Milestone, *, today: date, cal: Workdays,
          actor: Member | str = CLI_ACTOR, at: datetime, note: str | None = None, audit: bool = True) -> Entered:
    """Check `new` against the rules and store it; refused (DevelopmentError) when a hard rule is broken."""
    new, verdict = verdict_for(session, record, new, today, cal)
    if not verdict.ok:
        raise DevelopmentError(verdict.errors)
    by_id, by = actor_name(actor)
    row = DevelopmentMilestone(step=new.step, day=new.day, end_day=new.end, data=dict(new.data), note=note or None,
                               rule_version=verdict.version, warnings=list(verdict.warnings), recorded_by_id=by_id,
                               recorded_by=by, recorded_at=at)
    record.milestones.append(row)
    record.updated_at = at
    notes: list[str] = []
    state = to_record(record)
    if new.step == "approval":
        notes.append(_admit(session, record, row, state))
    elif new.step == "conversion_approval":
        notes.append(_convert(record, row, state))
    elif new.step == "stop" and record.member is not None and record.member.status == "active" \
            and record.member.category == "预备":
        notes.append(f"{record.member.name}仍在党员名单中（预备党员）。取消预备党员资格或转出的，请同时在名单中处理。")
    if audit:
        record_audit(session, "development.record", record.name, actor=actor, at=at, detail={
            "record_id": record.id, "step": new.step, "day": new.day.isoformat(),
            "end": new.end.isoformat() if new.end else None, "data": dict(new.data), "note": note,
            "rule_version": verdict.version, "warnings": verdict.warnings})
    session.flush()
    return Entered(row, list(verdict.warnings), verdict.version, notes)


def _admit(session: Session, record: DevelopmentRecord, row: DevelopmentMilestone, state: Record) -> str:
    """Approval: the person joins the roster as a 预备党员 from the 支部大会's date (or the member with the same
    account is updated: one person, one record)."""
    joined = state.day("branch_meeting")
    member = record.member
    if member is None:
        clauses = [col == value for col, value in ((Member.wecom_userid, record.wecom_userid),
                                                   (Member.dingtalk_userid, record.dingtalk_userid),
                                                   (Member.mobile, record.mobile)) if value]
        member = session.scalars(select(Member).where(or_(*clauses))).first() if clauses else None
    created = member is None
    if member is None:
        member = Member(name=record.name, mobile=record.mobile, wecom_userid=record.wecom_userid,
                        dingtalk_userid=record.dingtalk_userid)
        session.add(member)
    was = {"status": member.status, "category": member.category,
           "joined_on": member.joined_on.isoformat() if member.joined_on else None,
           "organization_id": member.organization_id} if not created else None
    member.organization_id, member.category, member.joined_on = record.organization_id, "预备", joined
    member.full_member_on, member.status = None, "active"
    session.flush()
    record.member = member
    row.data = {**row.data, "member_id": member.id, "member_created": created, "member_was": was}
    reach = "" if (record.mobile or record.wecom_userid or record.dingtalk_userid) else \
        "没有登记手机号或账号，收不到消息；请补充：登记发展 姓名 资料 企业微信账号。"
    return f"已{'加入' if created or (was and was['status'] != 'active') else '更新'}党员名单：{record.name}，" \
           f"预备党员，入党日期{joined.isoformat()}。" + reach


def _convert(record: DevelopmentRecord, row: DevelopmentMilestone, state: Record) -> str:
    member = record.member
    if member is None:
        return f"{record.name}不在党员名单中，未能更新转正日期。请核对名单。"
    full = probation_end(state)
    row.data = {**row.data, "member_was": {"category": member.category, "full_member_on":
                                           member.full_member_on.isoformat() if member.full_member_on else None}}
    member.category, member.full_member_on = "正式", full
    return f"党员名单已更新：{member.name}转为正式党员，转正日期{full.isoformat()}（预备期满之日，党龄从此日算起）。"


# --- revoking --------------------------------------------------------------------------------------------------------
def revoke(session: Session, record: DevelopmentRecord, step: str, *, day: date | None = None,
           actor: Member | str = CLI_ACTOR, at: datetime) -> tuple[DevelopmentMilestone, list[str], bool]:
    """Remove the (latest) milestone of `step`; refused while a later step that needs it stands.
    Returns the row removed, what it undid, and whether the record went with it (it had nothing else)."""
    rows = [m for m in record.milestones if m.step == step and (day is None or m.day == day)]
    name = STEPS[step].short
    if not rows:
        raise DevelopmentError([f"{record.name}没有登记过“{name}”" + (f"（{day.isoformat()}）" if day else "") + "。"])
    row = max(rows, key=lambda m: (m.day, m.id))
    deps = [d for d in dependents(to_record(record), step) if not STEPS[step].repeat]
    if deps:
        names = "、".join(STEPS[d].short for d in deps)
        raise DevelopmentError([f"{record.name}已登记了{names}，它们要在“{name}”之后。请先撤销{names}，再撤销“{name}”。"])
    notes = _undo(session, record, row)
    record.milestones.remove(row)
    record.updated_at = at
    record_audit(session, "development.revoke", record.name, actor=actor, at=at, detail={
        "record_id": record.id, "step": step, "day": row.day.isoformat(),
        "end": row.end_day.isoformat() if row.end_day else None, "data": dict(row.data or {}), "note": row.note,
        "recorded_by": row.recorded_by, "recorded_at": row.recorded_at.isoformat() if row.recorded_at else None})
    session.flush()
    if record.milestones:
        return row, notes, False
    session.delete(record)
    session.flush()
    notes.append(f"{record.name}已没有任何发展登记，记录已删除。")
    return row, notes, True


def _undo(session: Session, record: DevelopmentRecord, row: DevelopmentMilestone) -> list[str]:
    data: dict[str, Any] = dict(row.data or {})
    member = record.member
    if row.step == "approval" and member is not None:
        if data.get("member_created"):
            member.status = "removed"
            return [f"{member.name}已从党员名单中移除（是这次审批加入的）。"]
        was = data.get("member_was") or {}
        if was:
            member.status, member.category = was.get("status", member.status), was.get("category", member.category)
            member.joined_on = date.fromisoformat(was["joined_on"]) if was.get("joined_on") else None
            member.organization_id = was.get("organization_id") or member.organization_id
        return [f"{member.name}在党员名单中的信息已恢复为审批前的样子。"]
    if row.step == "conversion_approval" and member is not None:
        was = data.get("member_was") or {}
        member.category = was.get("category", "预备")
        member.full_member_on = date.fromisoformat(was["full_member_on"]) if was.get("full_member_on") else None
        return [f"{member.name}在党员名单中恢复为{member.category}党员。"]
    return []
