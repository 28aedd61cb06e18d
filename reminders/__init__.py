"""Reminders: what is due (pure rules), for which branches (bulk state), planned once into the outbox.

workdays  working days: chinese_calendar, a fallback for years it does not know, the operator's overrides
rules     OrgState + date → Due items (kinds, dedupe keys, recipients, times, texts; the outbox content format)
state     every branch's OrgState for a date in a few bulk queries
planner   Due items → outbox rows, insert-if-absent by dedupe key; one planner_state row per run
"""
