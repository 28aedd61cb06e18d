"""Who a meeting is for, and a 支委会's quorum: pure functions of its kinds and of role names (no I/O).

- 支委会 (T01.2a, T04.2a): the 支部委员, i.e. whoever holds 书记, 副书记 or a 委员 role (组织委员, 宣传委员, 纪检委员, …)
  in the branch. A branch of fewer than 7 正式党员 elects no committee, only a 书记 and perhaps a 副书记 (T04.2b): its
  roster holds those roles alone, so the same rule makes them the ones expected. A branch with none of these roles
  on record cannot tell its 委员 apart: the whole branch is expected rather than nobody.
- 党小组会 (T01.3a/b): the members of the 党小组 it is held for; held for the branch without naming a group, all of it.
- 党员大会, 党课, 主题党日, 组织生活会, 民主评议: the whole branch.
A meeting of several kinds is for everyone any of its kinds is for.
"""
from __future__ import annotations

from collections.abc import Iterable

BRANCH, COMMITTEE, GROUP = "branch", "committee", "group"
COMMITTEE_KIND, GROUP_KIND = "支委会", "党小组会"
LEADING_ROLES = ("书记", "副书记")


def is_committee_role(role: str) -> bool:
    """书记, 副书记 and any 委员 (the committee's own titles; 党小组长 and 党费管理员 are not committee seats)."""
    return role in LEADING_ROLES or role.endswith("委员")


def audiences(kinds: Iterable[str]) -> frozenset[str]:
    """The parts of the branch a meeting of these kinds is for: BRANCH, COMMITTEE and/or GROUP."""
    parts = {COMMITTEE if k == COMMITTEE_KIND else GROUP if k == GROUP_KIND else BRANCH for k in kinds}
    return frozenset(parts or {BRANCH})


def quorum(committee_size: int) -> int:
    """More than half of the 委员 (T01.2b): floor(n/2)+1."""
    return committee_size // 2 + 1


def quorum_reached(present: int, committee_size: int) -> bool:
    return committee_size > 0 and present >= quorum(committee_size)
