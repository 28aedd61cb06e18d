"""A year of daily planning, 2026-12-01 → 2027-11-30, while the secretary records the demo pipeline's steps in the
chat: the 发展党员 reminders (kinds development and probation_due) must be exactly these, follow the records, and a
second run over the year must plan nothing new.

Each day: planning at 08:00, then that day's entries at 10:00 (so an entry silences reminders from the next day).
2027 uses the fallback calendar (Monday–Friday minus 元旦, 劳动节, 国庆); every weekday below was checked.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from reminders.planner import plan
from reminders.rules import DEFAULT_TZ
from storage.db import transaction
from storage.models import Member, OutboxMessage

ENTRIES = {
    date(2026, 12, 1): ["登记发展 宋佳 介绍人 2026-12-01 李红梅、张伟", "登记发展 宋佳 政审 2026-12-01 合格",
                        "登记发展 宋佳 培训 2026-11-27 3天"],
    date(2026, 12, 3): ["登记发展 杨帆 谈话 2026-12-03",  # two days late: recorded with a warning
                        "登记发展 宋佳 支委会审查 2026-12-03"],
    date(2026, 12, 10): ["登记发展 宋佳 预审 2026-12-10", "登记发展 宋佳 志愿书 2026-12-10"],
    date(2026, 12, 15): ["登记发展 许诺 考察 2026-12-15"],
    date(2027, 1, 8): ["登记发展 宋佳 支部大会 2027-01-08 应到11 实到10 赞成10", "登记发展 宋佳 上级谈话 2027-01-08"],
    date(2027, 1, 12): ["登记发展 许诺 发展对象 2027-01-12"],
    date(2027, 2, 20): ["登记发展 陈晨 转正申请 2027-02-20"],
    date(2027, 3, 5): ["登记发展 陈晨 支部大会 2027-03-05 应到11 实到10 赞成10"],
    date(2027, 4, 20): ["登记发展 宋佳 审批 2027-04-20"],  # 3 months from 01-08 passed 04-08: with a warning
    date(2027, 5, 18): ["登记发展 宋佳 宣誓 2027-05-18"],
    date(2027, 5, 28): ["登记发展 陈晨 审批 2027-05-28"],  # the 转正
}

EXPECTED = """
2026-12-01 development 1     # 杨帆's talk, due 12-01: the T−7 notice (11-24) is still relevant
2026-12-02 development 1     # 杨帆's talk has passed (recorded late on 12-03: nothing more)
2026-12-04 development 1     # 许诺's review due 12-20 (Sun): T−14 = Sun 12-06 → Fri 12-04 (recorded 12-15: no "passed")
2026-12-24 development 1     # 许诺's year of training reached (made 发展对象 on 2027-01-12: his reminders stop)
2026-12-31 development 1     # 宋佳: 支部大会 within a month of 预审 (due 2027-01-10, a Sunday): T−7 = Sun 01-03 → Thu 12-31
2027-01-29 probation_due 1   # 陈晨: 预备期 ends 2027-03-01; T−30 = Sat 01-30 → Fri 01-29
2027-03-01 probation_due 1   # 陈晨's 预备期 has ended (her 转正大会 on 03-05)
2027-03-25 development 1     # 宋佳's approval due 04-08 (3 months from 01-08): T−14 = Thu 03-25
2027-04-09 development 1     # … it has passed (approved 04-20)
2027-05-13 development 1     # 宋佳's oath within a month of 04-20 (due 05-20): T−7 = Thu 05-13 (sworn 05-18)
2027-05-21 development 1     # 陈晨's 转正审批 due 06-05 (3 months from 03-05, a Saturday): T−14 = Sat 05-22 → Fri 05-21
"""


def expected() -> Counter:
    out: Counter = Counter()
    for line in EXPECTED.strip().splitlines():
        day, kind, n = line.split("#")[0].split()
        out[(date.fromisoformat(day), kind)] += int(n)
    return out


def local(d: date, hour: int) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=DEFAULT_TZ)


def run_year(demo, clock, say, entries: bool) -> tuple[Counter, list[int]]:
    got: Counter = Counter()
    new_counts = []
    with transaction(demo.sessions) as s:
        last_id = s.scalar(select(func.max(OutboxMessage.id))) or 0
    day = date(2026, 12, 1)
    while day <= date(2027, 11, 30):
        clock.set(local(day, 8))
        with transaction(demo.sessions) as s:
            new_counts.append(plan(s, day, now=clock()).new)
            rows = s.execute(select(OutboxMessage.id, OutboxMessage.dedupe_key, OutboxMessage.kind)
                             .where(OutboxMessage.id > last_id)).all()
        items = {(key.rsplit(":", 1)[0], kind) for _, key, kind in rows if kind in ("development", "probation_due")}
        for _, kind in items:
            got[(day, kind)] += 1
        last_id = max([last_id, *(r[0] for r in rows)])
        if entries:
            clock.set(local(day, 10))
            for text in ENTRIES.get(day, ()):
                reply = say("demo-shuji", text)
                assert reply.startswith("已登记"), (day, text, reply)
        day += timedelta(days=1)
    return got, new_counts


def test_a_year_of_development_reminders_follows_the_records(demo, clock, say):
    got, _ = run_year(demo, clock, say, entries=True)
    want = expected()
    assert got == want, (sorted(set(want.items()) - set(got.items())), sorted(set(got.items()) - set(want.items())))
    # every reminder went to the branch's 书记 and 组织委员, and only to them
    with transaction(demo.sessions) as s:
        to = set(s.scalars(select(Member.wecom_userid).join(OutboxMessage, OutboxMessage.recipient_id == Member.id)
                           .where(OutboxMessage.kind == "development")))
        assert to == {"demo-shuji", "demo-zuzhi"}
        song = s.scalars(select(Member).where(Member.wecom_userid == "demo-fazhan")).one()
        chen = s.scalars(select(Member).where(Member.wecom_userid == "demo-yubei")).one()
        assert (song.category, song.joined_on) == ("预备", date(2027, 1, 8))
        assert (chen.category, chen.full_member_on) == ("正式", date(2027, 3, 1))
    # the same year planned again adds no 发展党员 reminder (other rules now see 宋佳 in the roster all year)
    again, new_counts = run_year(demo, clock, say, entries=False)
    assert len(new_counts) == 365 and again == Counter()
