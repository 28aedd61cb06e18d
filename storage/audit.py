"""The audit log: every secretary write, and every operator change from the command line."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.models import AuditLog, Member, utcnow

CLI_ACTOR = "命令行"


def record_audit(session: Session, action: str, target: str | None, *, actor: Member | str = CLI_ACTOR,
                 detail: dict[str, Any] | None = None, at: datetime | None = None) -> None:
    if isinstance(actor, Member):
        row = AuditLog(actor_id=actor.id, actor=actor.name, action=action, target=target, detail=detail or {})
    else:
        row = AuditLog(actor_id=None, actor=actor, action=action, target=target, detail=detail or {})
    row.at = at or utcnow()
    session.add(row)
