"""The organisation tree: finding organisations and the branch a member or group belongs to."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import CommitteeTerm, Organization
from storage.months import add_years  # noqa: F401  (re-exported)


def find_org(session: Session, name: str) -> Organization | None:
    return session.scalars(select(Organization).where(Organization.name == name.strip())).first()


def branch_of(org: Organization) -> Organization:
    """A 党小组 belongs to its 党支部; anything else is its own unit."""
    while org.type == "党小组" and org.parent is not None:
        org = org.parent
    return org


def current_term(session: Session, org: Organization) -> CommitteeTerm | None:
    return session.scalars(select(CommitteeTerm).where(CommitteeTerm.organization_id == org.id)
                           .order_by(CommitteeTerm.elected_on.desc())).first()


def descendants(session: Session, org: Organization) -> list[Organization]:
    out, frontier = [], [org]
    while frontier:
        kids = session.scalars(select(Organization).where(
            Organization.parent_id.in_([o.id for o in frontier]))).all()
        out.extend(kids)
        frontier = list(kids)
    return out
