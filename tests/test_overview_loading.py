"""Loading the 党委's overview for every branch (whole tables, no IN lists) and for a chosen few agrees, and dues are
counted from the branch's first payment by anyone (a member who has left included) — a branch nobody paid in has
no arrears to show."""
from __future__ import annotations

from datetime import date

from reminders.oversight_state import branches_under, load_checkups, load_tree
from storage.db import make_engine, make_session_factory, transaction
from storage.models import DuesPayment, Member
from tests.query_count import statements_by_size
from tests.reminder_helpers import committee_with_branches

TODAY = date(2026, 11, 24)


def build(session, n: int) -> list[int]:
    """n branches under a 党委: in each, one active member who never paid and one who left after paying 2026-01."""
    ids = []
    for b, org in enumerate(committee_with_branches(session, n)):
        ids.append(org.id)
        stays = Member(name=f"在册{n}-{b}", wecom_userid=f"s{n}-{b}", organization_id=org.id, category="正式",
                       joined_on=date(2010, 1, 1))
        left = Member(name=f"转出{n}-{b}", wecom_userid=f"l{n}-{b}", organization_id=org.id, category="正式",
                      joined_on=date(2010, 1, 1), status="removed")
        session.add_all([stays, left])
        session.flush()
        if b % 2 == 0:  # the odd branches have no dues record at all
            session.add(DuesPayment(member_id=left.id, month="2026-01", amount_fen=100, paid_on=date(2026, 1, 20),
                                    source="manual"))
    session.flush()
    return ids


def every_branch(session) -> list:
    tree = load_tree(session)
    return load_checkups(session, TODAY, branches_under(tree, [o.id for o in tree.values() if o.type == "党委"]),
                         tree=tree)


def test_every_branch_runs_the_same_statements_and_counts_dues_from_the_first_payment(db_url):
    def run(s, ids, n):
        cs = [c for c in every_branch(s) if c.org_id in set(ids)]
        assert len(cs) == n
        for c in cs:
            paid_once = (c.org_id - ids[0]) % 2 == 0
            # 2026-01 to 2026-10 unpaid by the member who stayed: ten months, a 红 reason; nothing where nobody paid
            assert (c.dues_6, c.dues_3) == ((1, 0) if paid_once else (0, 0)), c

    counts = statements_by_size(db_url, build, run)
    assert counts[3] == counts[30], counts


def test_a_few_branches_read_by_id_agree_with_every_branch(db_url):
    sessions = make_session_factory(make_engine(db_url))
    with transaction(sessions) as s:
        ids = build(s, 4)
    with transaction(sessions) as s:
        whole = {c.org_id: c for c in every_branch(s)}
        few = load_checkups(s, TODAY, ids[1:3], tree=load_tree(s))
    assert [c.org_id for c in few] == sorted(ids[1:3], key=lambda i: (whole[i].status != "红", i))
    assert all(c == whole[c.org_id] for c in few)
    assert "1 名党员连续 6 个月未交党费" in whole[ids[0]].summary()
    assert "党费" not in whole[ids[1]].summary()
