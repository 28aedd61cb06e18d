"""What the bot can do, one module per capability. `register_all` is the one place that lists them."""
from __future__ import annotations

from bot.router import Router
from handlers import branch_admin, menu, profile, reminder_settings, schedule_views


def register_all(router: Router) -> None:
    for module in (menu, profile, branch_admin, schedule_views, reminder_settings):
        for handler in module.HANDLERS:
            router.register(handler)
