"""A year of daily planning for the demo organisation, 2026-12-01 → 2027-11-30, checked against a hand-made list.

The setting, recorded before the year starts:
- 第一党支部 (B1): term 2024-06-15 + 3 years → ends 2027-06-15. Held its 2026 组织生活会 + 民主评议 on 2026-11-20;
  records a 支委会 on 2027-01-12 and an explicit 主题党日 that is also the quarter's 党课 on 2027-03-26. Dues: every
  member paid 2026-09…11; during the year 吴芳 pays on the 1st of each month, the others on the 主题党日 (after that
  day's planning run), except 张伟, who stops paying (arrears from 2026-12). Everyone's 2027 amount is fixed.
- 第二党支部 (B2): term 2023-12-20 + 3 years → ends 2026-12-20 (a Sunday). Records nothing.
- The operator loads 2027 国庆 (10-01…10-07 off) and 2027-09-26 (work); otherwise 2027 uses the fallback calendar.
- The demo's 发展党员 pipeline in B1 records nothing during the year: 杨帆 applied 2026-11-01 (talk due 12-01), 许诺
  has been an activist since 2025-12-24 (last review 2026-06-20), 宋佳's 公示 ended 11-26 (nothing due), 陈晨's 预备期
  ends 2027-03-01 (its reminders now come from her record, under the same keys).

Each line below is: the day the push is first planned, the branch, the kind, how many distinct items (one item may
go to several recipients). Worked out by hand from the rules in reminders/rules.py; the weekday of every date was
checked (e.g. 2027-05-15 is a Saturday, so the T−1 month 换届 notice goes out on Friday 05-14).
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, select

from bot.cli import main as zhibu
from bot.demo import PARTY_COMMITTEE
from reminders.planner import plan
from storage.db import transaction
from storage.models import Meeting, Organization, OutboxMessage, PlannerState
from tests.reminder_helpers import add_meeting, branch_members, local, member, pay, rate

B1, B2 = "第一党支部", "第二党支部"

EXPECTED = """
2026-12-01 B1 general_meeting 1      # Q4: first working day of December (no 党员大会 recorded this quarter)
2026-12-01 B1 party_lecture 1
2026-12-01 B2 general_meeting 1
2026-12-01 B2 party_lecture 1
2026-12-01 B2 org_life_meeting 1     # 1 December alert: B2 recorded no 2026 组织生活会 (B1 did, on 11-20)
2026-12-01 B2 term_expiry 1          # the T−1 month stage (due 2026-11-20) is still relevant until 12-20
2026-12-01 B1 development 1          # 杨帆's talk: the T−7 days notice (due 11-24) is still relevant until 12-02
2026-12-02 B1 development 1          # … and it has passed (due 12-01)
2026-12-04 B1 development 1          # 许诺's review due 12-20 (a Sunday): T−14 = Sun 12-06 → Fri 12-04
2026-12-15 B1 theme_day 1            # 12-20 is a Sunday → 主题党日 Fri 12-18; T−3 = Tue 12-15
2026-12-15 B1 political_birthday 1   # list: 马超 (2022-12)
2026-12-15 B1 dues_collection 11     # 12 members, 吴芳 already paid on 12-01
2026-12-15 B1 term_expiry 1          # T−6 months of 2027-06-15 (with the 提醒函)
2026-12-15 B2 theme_day 1
2026-12-15 B2 political_birthday 1   # list: 刘洋 (2005-12), 曹阳 (2023-12)
2026-12-15 B2 dues_collection 8
2026-12-18 B1 theme_day 1            # the morning of the day
2026-12-18 B1 political_birthday 1   # greeting: 马超
2026-12-18 B2 theme_day 1
2026-12-18 B2 political_birthday 2   # greetings: 刘洋, 曹阳
2026-12-20 B2 term_overdue 1         # the term's end: a deadline, not moved off the Sunday
2026-12-21 B1 development 1          # 许诺's review has passed (the day after 12-20, a working day)
2026-12-24 B1 development 1          # 许诺's year of activist training is reached
2026-12-25 B1 committee_meeting 1
2026-12-25 B2 committee_meeting 1
2026-12-25 B1 general_meeting 1      # the 25th stage
2026-12-25 B1 party_lecture 1
2026-12-25 B2 general_meeting 1
2026-12-25 B2 party_lecture 1
2027-01-04 B2 dues_rebase 1          # 01-01 元旦, 01-02/03 weekend; B1's 2027 amounts are already fixed
2027-01-15 B1 theme_day 1            # 主题党日 Wed 01-20; T−3 = Sun 01-17 → Fri 01-15
2027-01-15 B1 dues_collection 11
2027-01-15 B2 theme_day 1
2027-01-15 B2 dues_collection 8
2027-01-20 B1 theme_day 1
2027-01-20 B2 theme_day 1
2027-01-25 B2 committee_meeting 1    # B1 recorded its 支委会 on 01-12
2027-01-29 B1 probation_due 1        # 陈晨: 预备期 ends 2027-03-01; T−30 days = Sat 01-30 → Fri 01-29
2027-02-16 B1 theme_day 1            # 02-20 is a Saturday → Fri 02-19; T−3 = Tue 02-16
2027-02-16 B1 political_birthday 1   # 冯丽
2027-02-16 B1 dues_collection 11
2027-02-16 B2 theme_day 1
2027-02-16 B2 political_birthday 1   # 韩雪
2027-02-16 B2 dues_collection 8
2027-02-19 B1 theme_day 1
2027-02-19 B1 political_birthday 1
2027-02-19 B2 theme_day 1
2027-02-19 B2 political_birthday 1
2027-02-25 B1 committee_meeting 1
2027-02-25 B2 committee_meeting 1
2027-03-01 B1 general_meeting 1      # B1's 党课 is recorded (the 03-26 主题党日 is also a 党课)
2027-03-01 B2 general_meeting 1
2027-03-01 B2 party_lecture 1
2027-03-01 B1 probation_due 1        # 陈晨's 预备期 has ended
2027-03-01 B1 dues_arrears 2         # 张伟: 2026-12, 2027-01, 02 unpaid → to him, and a note to 吴芳
2027-03-15 B1 term_expiry 1          # T−3 months
2027-03-16 B2 theme_day 1            # 03-20 is a Saturday → Fri 03-19; T−3 = Tue 03-16
2027-03-16 B2 dues_collection 8
2027-03-19 B2 theme_day 1
2027-03-23 B1 theme_day 1            # B1's explicit 主题党日 Fri 03-26; T−3 = Tue 03-23
2027-03-23 B1 political_birthday 1   # 陈晨 (2026-03)
2027-03-23 B1 dues_collection 11
2027-03-25 B1 committee_meeting 1
2027-03-25 B2 committee_meeting 1
2027-03-25 B1 general_meeting 1
2027-03-25 B2 general_meeting 1
2027-03-25 B2 party_lecture 1
2027-03-26 B1 theme_day 1
2027-03-26 B1 political_birthday 1
2027-04-16 B1 theme_day 1            # 主题党日 Tue 04-20; T−3 = Sat 04-17 → Fri 04-16
2027-04-16 B1 political_birthday 1   # 吴芳
2027-04-16 B1 dues_collection 11
2027-04-16 B2 theme_day 1
2027-04-16 B2 political_birthday 1   # 罗刚
2027-04-16 B2 dues_collection 8
2027-04-20 B1 theme_day 1
2027-04-20 B1 political_birthday 1
2027-04-20 B2 theme_day 1
2027-04-20 B2 political_birthday 1
2027-04-23 B1 committee_meeting 1    # 04-25 is a Sunday
2027-04-23 B2 committee_meeting 1
2027-05-14 B1 term_expiry 1          # T−1 month: 05-15 is a Saturday
2027-05-17 B1 theme_day 1            # 主题党日 Thu 05-20; T−3 = Mon 05-17
2027-05-17 B1 political_birthday 1   # 黄蕾
2027-05-17 B1 dues_collection 11
2027-05-17 B2 theme_day 1
2027-05-17 B2 dues_collection 8
2027-05-20 B1 theme_day 1
2027-05-20 B1 political_birthday 1
2027-05-20 B2 theme_day 1
2027-05-25 B1 committee_meeting 1
2027-05-25 B2 committee_meeting 1
2027-06-01 B1 general_meeting 1
2027-06-01 B1 party_lecture 1
2027-06-01 B2 general_meeting 1
2027-06-01 B2 party_lecture 1
2027-06-01 B1 dues_arrears 1         # 张伟: 6 months → to the 书记, 请支部研究处理 (and never again)
2027-06-15 B1 term_overdue 1         # the term's end
2027-06-15 B1 theme_day 1            # 06-20 is a Sunday → Fri 06-18; T−3 = Tue 06-15
2027-06-15 B1 political_birthday 1   # 李红梅, 赵静
2027-06-15 B1 dues_collection 11
2027-06-15 B2 theme_day 1
2027-06-15 B2 political_birthday 1   # 高峰
2027-06-15 B2 dues_collection 8
2027-06-18 B1 theme_day 1
2027-06-18 B1 political_birthday 2
2027-06-18 B2 theme_day 1
2027-06-18 B2 political_birthday 1
2027-06-25 B1 committee_meeting 1
2027-06-25 B2 committee_meeting 1
2027-06-25 B1 general_meeting 1
2027-06-25 B1 party_lecture 1
2027-06-25 B2 general_meeting 1
2027-06-25 B2 party_lecture 1
2027-07-16 B1 theme_day 1            # 主题党日 Tue 07-20; T−3 = Sat 07-17 → Fri 07-16
2027-07-16 B1 political_birthday 1   # 王建国, 何军
2027-07-16 B1 dues_collection 11
2027-07-16 B2 theme_day 1
2027-07-16 B2 political_birthday 1   # 唐亮
2027-07-16 B2 dues_collection 8
2027-07-20 B1 theme_day 1
2027-07-20 B1 political_birthday 2
2027-07-20 B2 theme_day 1
2027-07-20 B2 political_birthday 1
2027-07-23 B1 committee_meeting 1    # 07-25 is a Sunday
2027-07-23 B2 committee_meeting 1
2027-08-17 B1 theme_day 1            # 主题党日 Fri 08-20; T−3 = Tue 08-17
2027-08-17 B1 dues_collection 11
2027-08-17 B2 theme_day 1
2027-08-17 B2 dues_collection 8
2027-08-20 B1 theme_day 1
2027-08-20 B2 theme_day 1
2027-08-25 B1 committee_meeting 1
2027-08-25 B2 committee_meeting 1
2027-09-01 B1 general_meeting 1
2027-09-01 B1 party_lecture 1
2027-09-01 B2 general_meeting 1
2027-09-01 B2 party_lecture 1
2027-09-17 B1 theme_day 1            # 主题党日 Mon 09-20; T−3 = Fri 09-17
2027-09-17 B1 political_birthday 1   # 郑强
2027-09-17 B1 dues_collection 11
2027-09-17 B2 theme_day 1
2027-09-17 B2 political_birthday 1   # 谢婷
2027-09-17 B2 dues_collection 8
2027-09-20 B1 theme_day 1
2027-09-20 B1 political_birthday 1
2027-09-20 B2 theme_day 1
2027-09-20 B2 political_birthday 1
2027-09-24 B1 committee_meeting 1    # 09-25 is a Saturday
2027-09-24 B2 committee_meeting 1
2027-09-24 B1 general_meeting 1
2027-09-24 B1 party_lecture 1
2027-09-24 B2 general_meeting 1
2027-09-24 B2 party_lecture 1
2027-10-08 B1 org_life_meeting 1     # first working day of October under the loaded 国庆 schedule (not 10-04)
2027-10-08 B2 org_life_meeting 1
2027-10-15 B1 theme_day 1            # 主题党日 Wed 10-20; T−3 = Sun 10-17 → Fri 10-15
2027-10-15 B1 dues_collection 11
2027-10-15 B2 theme_day 1
2027-10-15 B2 dues_collection 8
2027-10-20 B1 theme_day 1
2027-10-20 B2 theme_day 1
2027-10-25 B1 committee_meeting 1
2027-10-25 B2 committee_meeting 1
2027-11-16 B1 theme_day 1            # 11-20 is a Saturday → Fri 11-19; T−3 = Tue 11-16
2027-11-16 B1 political_birthday 1   # 张伟, 孙磊
2027-11-16 B1 dues_collection 11
2027-11-16 B2 theme_day 1
2027-11-16 B2 political_birthday 1   # 林琳
2027-11-16 B2 dues_collection 8
2027-11-19 B1 theme_day 1
2027-11-19 B1 political_birthday 2
2027-11-19 B2 theme_day 1
2027-11-19 B2 political_birthday 1
2027-11-25 B1 committee_meeting 1
2027-11-25 B2 committee_meeting 1
2026-12-01 DW oversight_digest 1     # the 党委's monthly digest: each month's first working day
2027-01-04 DW oversight_digest 1     # 01-01 元旦, then a weekend
2027-02-01 DW oversight_digest 1
2027-03-01 DW oversight_digest 1
2027-04-01 DW oversight_digest 1
2027-05-03 DW oversight_digest 1     # 05-01 and 05-02 劳动节 (the fallback calendar)
2027-06-01 DW oversight_digest 1
2027-07-01 DW oversight_digest 1
2027-08-02 DW oversight_digest 1     # 08-01 is a Sunday
2027-09-01 DW oversight_digest 1
2027-10-08 DW oversight_digest 1     # the operator's 国庆 10-01…10-07
2027-11-01 DW oversight_digest 1
"""


def expected() -> Counter:
    out: Counter = Counter()
    for line in EXPECTED.strip().splitlines():
        day, branch, kind, n = line.split("#")[0].split()
        out[(date.fromisoformat(day), {"B1": B1, "B2": B2, "DW": PARTY_COMMITTEE}[branch], kind)] += int(n)
    return out


THEME_DAYS_B1 = {date(2026, 12, 18), date(2027, 1, 20), date(2027, 2, 19), date(2027, 3, 26), date(2027, 4, 20),
                 date(2027, 5, 20), date(2027, 6, 18), date(2027, 7, 20), date(2027, 8, 20), date(2027, 9, 20),
                 date(2027, 10, 20), date(2027, 11, 19)}


def setup_year(demo, monkeypatch) -> None:
    monkeypatch.setenv("ZHIBU_DATABASE_URL", demo.settings.database_url)
    monkeypatch.setenv("ZHIBU_SECRET_KEY", "test-secret-key-0123456789")
    assert zhibu(["calendar", "set", "2027-10-01..2027-10-07", "off", "--note", "国庆节"]) == 0
    assert zhibu(["calendar", "set", "2027-09-26", "work"]) == 0
    with transaction(demo.sessions) as s:
        add_meeting(s, B1, date(2026, 11, 20), "组织生活会", "民主评议")
        # arranged ahead (安排); each is signed in on its day (hold_meetings_of)
        add_meeting(s, B1, date(2027, 1, 12), "支委会", status="scheduled")
        add_meeting(s, B1, date(2027, 3, 26), "主题党日", "党课", status="scheduled")
        for m in branch_members(s, B1):
            for month in ("2026-09", "2026-10", "2026-11"):
                pay(s, m, month, date(2026, 11, 20))
            rate(s, m, 2027)


def pay_for_day(demo, day: date) -> None:
    """B1's dues as they come in: 吴芳 on the 1st, the others on the 主题党日; 张伟 stops paying."""
    with transaction(demo.sessions) as s:
        month = f"{day.year:04d}-{day.month:02d}"
        for m in branch_members(s, B1):
            if m.wecom_userid == "demo-dangyuan":
                continue
            if (m.name == "吴芳" and day.day == 1) or (m.name != "吴芳" and day in THEME_DAYS_B1):
                pay(s, m, month, day)


def hold_meetings_of(demo, day: date) -> None:
    """The day's arranged meetings are signed in and closed, after the 08:00 planning run."""
    with transaction(demo.sessions) as s:
        for m in s.scalars(select(Meeting).where(Meeting.starts_at >= local(day, 0),
                                                 Meeting.starts_at < local(day + timedelta(days=1), 0))):
            m.status = "closed"


def run_year(demo, clock, payments: bool = True) -> tuple[Counter, list[int]]:
    """One planning run per day, as the scheduler does at 08:00; returns what each day newly planned."""
    got: Counter = Counter()
    new_counts = []
    day = date(2026, 12, 1)
    with transaction(demo.sessions) as s:
        names = dict(s.execute(select(Organization.id, Organization.name)).all())
        last_id = s.scalar(select(func.max(OutboxMessage.id))) or 0
    while day <= date(2027, 11, 30):
        clock.set(local(day))
        with transaction(demo.sessions) as s:
            result = plan(s, day, now=clock())
            new_counts.append(result.new)
            rows = s.execute(select(OutboxMessage.id, OutboxMessage.dedupe_key, OutboxMessage.kind,
                                    OutboxMessage.organization_id).where(OutboxMessage.id > last_id)).all()
        items = {(key.rsplit(":", 1)[0], kind, names[org]) for _, key, kind, org in rows}
        for _, kind, org in items:
            got[(day, org, kind)] += 1
        last_id = max([last_id, *(r[0] for r in rows)])
        hold_meetings_of(demo, day)
        if payments:
            pay_for_day(demo, day)
        day += timedelta(days=1)
    return got, new_counts


def test_a_year_of_daily_planning_gives_exactly_the_expected_pushes(demo, clock, monkeypatch):
    setup_year(demo, monkeypatch)
    got, _ = run_year(demo, clock)
    want = expected()
    missing = {k: v for k, v in want.items() if got.get(k) != v}
    extra = {k: v for k, v in got.items() if k not in want}
    assert not missing and not extra, (sorted(missing.items()), sorted(extra.items()))

    # the second run over the whole year plans nothing new
    _, new_counts = run_year(demo, clock, payments=False)
    assert len(new_counts) == 365 and sum(new_counts) == 0
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(PlannerState)) == 2 * 365
    check_term_rows(demo)
    check_dues_rows(demo)


def check_term_rows(demo) -> None:
    with transaction(demo.sessions) as s:
        rows = {r.dedupe_key: r for r in s.scalars(select(OutboxMessage).where(
            OutboxMessage.kind.in_(("term_expiry", "term_overdue"))))}
        t6 = rows["term_expiry:第一党支部:2027-06-15:T-6m:demo-shuji"]
        assert t6.content["letter"] is True and t6.content["kind"] == "term_expiry" and t6.content["title"]
        assert "term_expiry:第一党支部:2027-06-15:T-6m:demo-dangwei" in rows  # the upper-level organiser too
        assert t6.due_at == local(date(2026, 12, 15))
        t1 = rows["term_expiry:第一党支部:2027-06-15:T-1m:demo-shuji"]
        assert t1.due_at == local(date(2027, 5, 14)) and "letter" not in t1.content
        assert t1.relevant_until == local(date(2027, 6, 15), 0)
        late = rows["term_expiry:第二党支部:2026-12-20:T-1m:demo-shuji2"]
        assert late.due_at == local(date(2026, 11, 20))  # planned on 12-01, still relevant until the term's end
        over = rows["term_overdue:第二党支部:2026-12-20:T0:demo-dangwei"]
        assert over.due_at == local(date(2026, 12, 20))


def check_dues_rows(demo) -> None:
    with transaction(demo.sessions) as s:
        zhang, wu, wang = member(s, "demo-dangyuan"), member(s, "demo-b1-03"), member(s, "demo-shuji")
        arrears = s.execute(select(OutboxMessage.recipient_id, OutboxMessage.content)
                            .where(OutboxMessage.kind == "dues_arrears")).all()
        by = {(rid, "研究处理" in c["text"]) for rid, c in arrears}
        assert by == {(zhang.id, False), (wu.id, False), (wang.id, True)}
        collected = s.scalars(select(OutboxMessage.recipient_id).where(
            OutboxMessage.kind == "dues_collection", OutboxMessage.dedupe_key.like("%第一党支部%"))).all()
        assert wu.id not in collected and collected.count(zhang.id) == 12
