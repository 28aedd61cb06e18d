"""Service heartbeats: the scheduler beats every minute; /readyz checks the beat is fresh."""
from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from storage.models import ServiceHeartbeat

SCHEDULER = "scheduler"
FRESH_FOR = timedelta(minutes=3)


def beat(session: Session, name: str, now: datetime) -> None:
    row = session.get(ServiceHeartbeat, name)
    if row is None:
        session.add(ServiceHeartbeat(name=name, beat_at=now, pid=os.getpid(), host=socket.gethostname()[:100]))
    else:
        row.beat_at, row.pid, row.host = now, os.getpid(), socket.gethostname()[:100]


def last_beat(session: Session, name: str) -> datetime | None:
    row = session.get(ServiceHeartbeat, name)
    return row.beat_at if row else None


def is_fresh(beat_at: datetime | None, now: datetime) -> bool:
    return beat_at is not None and now - beat_at <= FRESH_FOR
