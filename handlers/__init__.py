"""What the bot can do, one module per capability. `register_all` is the one place that lists them."""
from __future__ import annotations

from bot.router import Router
from handlers import branch_admin, menu, profile


def register_all(router: Router) -> None:
    for module in (menu, profile, branch_admin):
        for handler in module.HANDLERS:
            router.register(handler)
    # sign-in and meetings; PENDING maps a pending-choice kind to its resolver
    from handlers import attendance_views, checkin, leave, ledger_export, meetings

    for module in (checkin, meetings, leave, attendance_views, ledger_export):
        for handler in module.HANDLERS:
            router.register(handler)
        for kind, resolver in getattr(module, "PENDING", {}).items():
            router.register_pending(kind, resolver)
