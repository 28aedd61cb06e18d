"""What the bot can do, one module per capability. `register_all` is the one place that lists them."""
from __future__ import annotations

from bot.router import Router
from handlers import branch_admin, knowledge, menu, profile


def register_all(router: Router) -> None:
    for module in (menu, profile, branch_admin, knowledge):
        for handler in module.HANDLERS:
            router.register(handler)
    knowledge.register(router)
