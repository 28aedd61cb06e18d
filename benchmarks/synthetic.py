"""Synthetic organisations for the reminder benchmarks: N branches of M members, written in bulk."""
from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from storage.models import CommitteeTerm, Member, Organization, Role

BRANCHES_PER_COMMITTEE = 100


def populate(engine: Engine, branches: int, members: int, seed: int = 1) -> None:
    """党委 of 100 branches each; every branch has a 书记, 组织委员 and 党费管理员, a committee term, and members
    joined on spread-out dates (so political birthdays, probation and term stages all occur)."""
    rng = random.Random(seed)
    committees = (branches + BRANCHES_PER_COMMITTEE - 1) // BRANCHES_PER_COMMITTEE
    orgs, terms, people, roles = [], [], [], []
    org_id, member_id = 0, 0
    for c in range(committees):
        org_id += 1
        committee_id = org_id
        orgs.append({"id": committee_id, "name": f"第{c + 1}党委", "type": "党委", "parent_id": None, "settings": {}})
        member_id += 1
        people.append(_member(member_id, f"c{c}", committee_id, date(1995, 7, 1)))
        roles.append({"member_id": member_id, "organization_id": committee_id, "role": "上级管理员"})
    for b in range(branches):
        org_id += 1
        parent = 1 + (b // BRANCHES_PER_COMMITTEE)
        orgs.append({"id": org_id, "name": f"第{b + 1}党支部", "type": "党支部", "parent_id": parent,
                     "settings": {"theme_day": {"day": rng.randint(1, 28)}}})
        elected = date(2023, 1, 1) + timedelta(days=rng.randint(0, 1400))
        years = rng.choice((3, 3, 3, 5))
        terms.append({"organization_id": org_id, "elected_on": elected, "term_years": years,
                      "ends_on": elected.replace(year=elected.year + years) if (elected.month, elected.day) != (2, 29)
                      else date(elected.year + years, 2, 28)})
        for k in range(members):
            member_id += 1
            joined = date(1980, 1, 1) + timedelta(days=rng.randint(0, 46 * 365))
            row = _member(member_id, f"b{b}-{k}", org_id, joined)
            if joined > date(2025, 11, 1):
                row["category"], row["full_member_on"] = "预备", None
            people.append(row)
            role = {0: "书记", 1: "组织委员", 2: "党费管理员"}.get(k)
            if role:
                roles.append({"member_id": member_id, "organization_id": org_id, "role": role})
    with engine.begin() as conn:
        for table, rows in ((Organization, orgs), (Member, people), (Role, roles), (CommitteeTerm, terms)):
            for i in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[i:i + 5000])
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # ids were given explicitly: move the sequences past them
            for table in ("organizations", "members"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
            conn.exec_driver_sql("ANALYZE")


def _member(member_id: int, uid: str, org_id: int, joined: date) -> dict:
    return {"id": member_id, "name": f"党员{member_id}", "mobile": None, "wecom_userid": f"u{uid}",
            "dingtalk_userid": None, "organization_id": org_id, "category": "正式", "joined_on": joined,
            "full_member_on": joined + timedelta(days=365), "status": "active"}
