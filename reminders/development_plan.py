"""Planning the 发展党员 reminders (reminders/development_rules.py) in the planner's run: the pipelines of the
branches that have one, in three queries (records with their milestones, the branches' 书记 / 组织委员 / 副书记,
the members the records follow), in the planner's transaction. `tz` is the configured zone (settings.tz).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from reminders.development_rules import BranchPipeline, PipelineRecord, development_due_items
from reminders.rules import DEFAULT_TZ, Due, Person
from reminders.state import load_calendar
from reminders.workdays import Calendar
from storage.development import to_record
from storage.models import DevelopmentRecord, Member, Organization, Role

RECIPIENT_ROLES = ("书记", "组织委员", "副书记")


def _person(m: Member) -> Person:
    return Person(m.id, m.name, m.wecom_userid or m.dingtalk_userid, m.category, m.joined_on)


def load_pipelines(session: Session, org_ids: Iterable[int] | None = None,
                   tz: tzinfo = DEFAULT_TZ) -> list[BranchPipeline]:
    stmt = (select(DevelopmentRecord).options(selectinload(DevelopmentRecord.milestones),
                                              selectinload(DevelopmentRecord.member))
            .order_by(DevelopmentRecord.organization_id, DevelopmentRecord.id))
    if org_ids is not None:
        stmt = stmt.where(DevelopmentRecord.organization_id.in_(set(org_ids)))
    by_branch: dict[int, list[PipelineRecord]] = defaultdict(list)
    for row in session.scalars(stmt):
        record = to_record(row)
        if record.stopped or record.has("conversion_approval"):
            continue
        member = _person(row.member) if row.member is not None and row.member.status == "active" else None
        by_branch[row.organization_id].append(PipelineRecord(row.id, record, member))
    if not by_branch:
        return []
    names = dict(session.execute(select(Organization.id, Organization.name)
                                 .where(Organization.id.in_(by_branch))).all())
    holders: dict[int, dict[str, list[Person]]] = defaultdict(lambda: defaultdict(list))
    for org_id, role, member in session.execute(
            select(Role.organization_id, Role.role, Member).join(Member, Member.id == Role.member_id)
            .where(Role.organization_id.in_(by_branch), Role.role.in_(RECIPIENT_ROLES), Member.status == "active")
            .order_by(Member.id)).all():
        holders[org_id][role].append(_person(member))
    out = []
    for org_id, records in sorted(by_branch.items()):
        roles = holders.get(org_id, {})
        to = {p.id: p for r in ("书记", "组织委员") for p in roles.get(r, ())} or \
            {p.id: p for p in roles.get("副书记", ())}
        out.append(BranchPipeline(org_id, names[org_id], tuple(to.values()), tuple(records), tz))
    return out


def development_dues(session: Session, today: date, org_ids: Iterable[int] | None = None,
                     calendar: Calendar | None = None, tz: tzinfo = DEFAULT_TZ) -> list[Due]:
    cal = calendar or Calendar(load_calendar(session))
    return [d for branch in load_pipelines(session, org_ids, tz) for d in development_due_items(branch, today, cal)]

