"""Loading the 规范化 self-check of many branches at once, for chat and for a web console:

    selfcheck_for(session, org_ids, today, tz=DEFAULT_TZ, standard=None, tree=None) -> list[BranchSelfCheck]

`org_ids` are 党支部 ids (others are ignored); the result is in the order they were set up. `today` is the day asked,
in the configured zone `tz`: the periods judged are those over by then (reminders/selfcheck_rules.py). `standard`
defaults to the bundled file (reminders/selfcheck_standard.py; raises StandardError when that file is broken).

The same fixed set of aggregate queries as the 党委's overview (reminders/oversight_state.py), whatever the number
of branches: no query per branch.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, tzinfo

from sqlalchemy.orm import Session

from reminders.oversight_rules import checkup
from reminders.oversight_state import (
    BRANCH,
    OrgNode,
    load_latest_paid,
    load_tree,
    upper_settings,
)
from reminders.rules import DEFAULT_TZ
from reminders.selfcheck_rules import BranchSelfCheck, Standard, selfcheck
from reminders.selfcheck_standard import load_standard
from reminders.state import load_states


def selfcheck_for(session: Session, org_ids: Iterable[int], today: date, tz: tzinfo = DEFAULT_TZ,
                  standard: Standard | None = None,
                  tree: Mapping[int, OrgNode] | None = None) -> list[BranchSelfCheck]:
    ids = sorted(set(org_ids))
    if not ids:
        return []
    standard = standard if standard is not None else load_standard()
    tree = tree if tree is not None else load_tree(session)
    every = len(ids) == sum(1 for o in tree.values() if o.type == BRANCH)  # whole tables, no IN lists
    wanted = set(ids)
    states = [s for s in load_states(session, today, None if every else ids, tz, dues=False) if s.org_id in wanted]
    latest = load_latest_paid(session, tree, None if every else ids, today)
    return [selfcheck(s, checkup(s, today, None, upper_settings(tree, s.org_id), latest), standard)
            for s in states]
