"""What the bot can do, one module per capability. `register_all` is the one place that lists them."""
from __future__ import annotations

from bot.router import Router
from handlers import branch_admin, dues_ledger, dues_questions, dues_status, menu, profile


def register_all(router: Router) -> None:
    # dues_ledger before branch_admin: "设置党费 …" must not be read as the generic "设置 …";
    # dues_questions last: it matches free questions that mention 党费
    for module in (menu, profile, dues_status, dues_ledger, branch_admin, dues_questions):
        for handler in module.HANDLERS:
            router.register(handler)
        for kind, resolver in getattr(module, "PENDING", {}).items():
            router.register_pending(kind, resolver)
