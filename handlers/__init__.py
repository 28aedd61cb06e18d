"""What the bot can do, one module per capability. `register_all` is the one place that lists them.

Every message's process imports every handler, so a handler imports at its top only what its Handler entries need;
the Party rules, parsers and readers its functions use are imported in those functions, and a simple message (帮助,
我的党费) loads none of them (tests/test_import_boundaries.py names them).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from handlers import (
    attendance_views,
    branch_admin,
    checkin,
    console_link,
    development,
    development_views,
    dues_ledger,
    dues_questions,
    dues_status,
    knowledge,
    leave,
    ledger_export,
    meeting_record,
    meetings,
    menu,
    my_record,
    oversight,
    profile,
    reminder_settings,
    schedule_views,
    selfcheck,
    term_letter,
)

if TYPE_CHECKING:
    from bot.router import Router

# Order matters where command words overlap: dues_ledger before branch_admin ("设置党费 …" is not the generic
# "设置 …"); my_record after every command (its questions about oneself never start with a command word) and before
# the knowledge base's questions; dues_questions last, because it matches free questions that mention 党费. Whatever
# no handler claims goes to the knowledge base (the fallback).
MODULES = (menu, profile, dues_status, dues_ledger, branch_admin, checkin, meetings, meeting_record, leave,
           attendance_views, ledger_export, schedule_views, oversight, selfcheck, console_link, term_letter,
           reminder_settings, development, development_views, my_record, knowledge, dues_questions)


def register_all(router: Router) -> None:
    for module in MODULES:
        for handler in module.HANDLERS:
            router.register(handler)
        # PENDING maps a pending-choice kind ("reply 1/2/3") to its resolver
        for kind, resolver in getattr(module, "PENDING", {}).items():
            router.register_pending(kind, resolver)
    knowledge.register(router)
    router.register_guest(development_views.guest)  # 我的入党进度 for a person in the pipeline, not yet in the roster
