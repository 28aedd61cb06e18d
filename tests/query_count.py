"""How many statements a view runs for a small and a large organisation: the overview's promise is a fixed number
of aggregate queries, never one per branch."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from storage.db import make_engine, make_session_factory, transaction


def statements_by_size(db_url: str, build: Callable[[Any, int], list[int]],
                       run: Callable[[Any, list[int], int], None], sizes: tuple[int, ...] = (3, 30)) -> dict[int, int]:
    """For each size: `build(session, n)` makes n branches (committed), then the statements `run(session, ids, n)`
    executes are counted. `run` makes its own assertions about what it computed."""
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    counts: dict[int, int] = {}
    try:
        for n in sizes:
            with transaction(sessions) as s:
                ids = build(s, n)
            seen: list[str] = []

            def count(conn, cursor, statement, parameters, context, executemany, seen=seen):
                seen.append(statement)
            event.listen(engine, "before_cursor_execute", count)
            try:
                with transaction(sessions) as s:
                    run(s, ids, n)
            finally:
                event.remove(engine, "before_cursor_execute", count)
            counts[n] = len(seen)
    finally:
        engine.dispose()
    return counts
