"""Role predicates. A role is held in one organisation; predicates answer for the member's whole set."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

SECRETARY_ROLES = frozenset({"书记", "副书记", "组织委员"})
DUES_ROLES = frozenset({"书记", "组织委员", "党费管理员"})


@dataclass(frozen=True)
class RoleSet:
    """(role, organisation id) pairs held by one member."""

    pairs: frozenset[tuple[str, int]]
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # 帮助 asks every handler's predicate: answer "holds any of these anywhere" with one set operation
        object.__setattr__(self, "_names", frozenset(r for r, _ in self.pairs))

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, int]]) -> RoleSet:
        return cls(frozenset(pairs))

    @classmethod
    def of_member(cls, member) -> RoleSet:
        """The roles a member holds, from their loaded `roles` rows (storage.models.Role)."""
        return cls.of((r.role, r.organization_id) for r in member.roles)

    def names(self) -> set[str]:
        return set(self._names)

    def holds(self, *roles: str, org_id: int | None = None) -> bool:
        if org_id is None:
            return not self._names.isdisjoint(roles)
        return any(r in roles and o == org_id for r, o in self.pairs)

    def orgs_where(self, *roles: str) -> set[int]:
        return {o for r, o in self.pairs if r in roles}


Predicate = Callable[[RoleSet], bool]


def any_member(_roles: RoleSet) -> bool:
    return True


def role_predicate(*roles: str) -> Predicate:
    def check(rs: RoleSet) -> bool:
        return rs.holds(*roles)

    check.__name__ = "/".join(roles)
    return check


is_member = any_member  # 党员
is_secretary = role_predicate("书记")
is_deputy = role_predicate("副书记")
is_organizer = role_predicate("组织委员")
is_dues_keeper = role_predicate("党费管理员")
is_upper_admin = role_predicate("上级管理员")
is_committee = role_predicate(*SECRETARY_ROLES)  # 书记、副书记、组织委员
