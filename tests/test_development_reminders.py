"""发展党员 reminders: before each limit passes and once it has, to the branch's 书记 and 组织委员; planned by the same
planner (twice is a no-op); the 预备期 reminders moved onto the record (an extension moves them)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import select

from reminders.development_rules import BranchPipeline, PipelineRecord, development_due_items, record_dues
from reminders.planner import plan
from reminders.rules import DEFAULT_TZ, Person
from reminders.workdays import Calendar
from storage.db import transaction
from storage.development_rules import Milestone, Record
from storage.models import DevelopmentRecord, OutboxMessage
from tests.test_development_rules import upto

CAL = Calendar()
SHUJI, ZUZHI = Person(1, "王建国", "shuji"), Person(2, "李红梅", "zuzhi")


def branch(*records: Record, member: Person | None = None) -> BranchPipeline:
    return BranchPipeline(9, "第一党支部", (SHUJI, ZUZHI),
                          tuple(PipelineRecord(i, r, member) for i, r in enumerate(records, start=1)))


def local(d: date, hour: int = 8) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=DEFAULT_TZ)


def dues_of(record: Record, **kw) -> dict[str, object]:
    return {d.key.split(":", 3)[3]: d for d in record_dues(branch(record, **kw), branch(record).records[0], CAL)}


def test_the_talk_a_week_before_and_once_it_has_passed():
    r = Record("杨帆", None, (Milestone("application", date(2026, 11, 1)),))
    due = dues_of(r)
    before, passed = due["talk:2026-12-01:T-7d"], due["talk:2026-12-01:passed"]
    assert before.key == "development:第一党支部:1:talk:2026-12-01:T-7d" and before.kind == "development"
    assert before.due_at == local(date(2026, 11, 24)) and before.relevant_until == local(date(2026, 12, 2), 0)
    assert "12月1日（周二）前派人同其谈话" in before.text and "登记发展 杨帆 谈话 日期" in before.text
    assert passed.due_at == local(date(2026, 12, 2)) and "已过期限" in passed.text
    assert before.recipients == (SHUJI, ZUZHI)
    # catch-up: on the day before the limit the first is still due, the second not yet
    got = development_due_items(branch(r), date(2026, 12, 1), CAL)
    assert [d.key for d in got] == [before.key]
    assert [d.key for d in development_due_items(branch(r), date(2026, 12, 2), CAL)] == [passed.key]
    # the talk recorded: nothing more
    done = r.with_(Milestone("talk", date(2026, 11, 20)))
    assert record_dues(branch(done), branch(done).records[0], CAL) == []


def test_the_pipelines_time_zone_sets_the_times():
    r = Record("杨帆", None, (Milestone("application", date(2026, 11, 1)),))
    shanghai, in_utc = branch(r), branch(r)._replace(tz=UTC)
    got = {d.key: d for d in record_dues(in_utc, in_utc.records[0], CAL)}
    assert got and {k: d.due_at for k, d in got.items()} == {
        d.key: d.due_at.replace(tzinfo=UTC) for d in record_dues(shanghai, shanghai.records[0], CAL)}
    before = got["development:第一党支部:1:talk:2026-12-01:T-7d"]
    assert before.due_at == datetime(2026, 11, 24, 8, tzinfo=UTC)
    assert before.relevant_until == datetime(2026, 12, 2, tzinfo=UTC)


def test_reviews_and_the_year_of_training():
    r = upto("review", activist=date(2025, 12, 24), contacts=date(2025, 12, 24), activist_filed=date(2025, 12, 31),
             review=date(2026, 6, 20))
    due = dues_of(r)
    assert due["review:2026-12-20:T-14d"].due_at == local(date(2026, 12, 4))  # 12-06 a Sunday: Friday before
    assert due["review:2026-12-20:passed"].due_at == local(date(2026, 12, 21))
    year = due["activist_year:2026-12-24:reached"]
    assert year.due_at == local(date(2026, 12, 24)) and "满1年培养期" in year.text and "公示不少于5个工作日" in year.text


def test_meeting_window_approval_oath_and_conversion_approval():
    meeting = dues_of(upto("volunteer_form", prereview=date(2026, 6, 15), volunteer_form=date(2026, 6, 20)))
    assert meeting["meeting_window:2026-07-15:T-7d"].due_at == local(date(2026, 7, 8))
    approval = dues_of(upto("upper_talk", prereview=date(2026, 6, 1), volunteer_form=date(2026, 6, 5),
                            branch_meeting=date(2026, 6, 15), upper_talk=date(2026, 6, 20)))
    assert approval["approval:2026-09-15:T-14d"].due_at == local(date(2026, 9, 1))
    late = approval["approval:2026-09-15:passed"]
    assert late.due_at == local(date(2026, 9, 16)) and "最长不得超过2026年12月15日" in late.text
    oath = dues_of(upto("approval", approval=date(2026, 6, 20)))
    assert oath["oath:2026-07-20:T-7d"].due_at == local(date(2026, 7, 13))
    conv = dues_of(upto("conversion_meeting"))  # 转正大会 2026-06-01
    assert conv["conversion_approval:2026-09-01:T-14d"].due_at == local(date(2026, 8, 18))
    # no oath window for an approval under the 2014 rules
    assert not [k for k in dues_of(upto("approval", approval=date(2026, 4, 20))) if k.startswith("oath")]


def test_the_end_of_probation_as_the_roster_rule_keyed_it():
    chen = Person(7, "陈晨", "demo-yubei", "预备", date(2026, 3, 1))
    r = upto("oath", branch_meeting=date(2026, 3, 1), upper_talk=date(2026, 3, 10), approval=date(2026, 3, 25),
             oath=date(2026, 4, 10), prereview=date(2026, 1, 20), volunteer_form=date(2026, 2, 5))
    pipeline = branch(r, member=chen)
    keys = {d.key: d for d in record_dues(pipeline, pipeline.records[0], CAL)}
    t30 = keys["probation_due:第一党支部:2027-03-01:T-30d:demo-yubei"]
    assert t30.kind == "probation_due" and t30.due_at == local(date(2027, 1, 29))
    assert keys["probation_due:第一党支部:2027-03-01:T0:demo-yubei"].due_at == local(date(2027, 3, 1))
    extended = r.with_(Milestone("extension", date(2026, 12, 1), None, {"months": 6}))
    pipeline = branch(extended, member=chen)
    assert {d.key for d in record_dues(pipeline, pipeline.records[0], CAL)} == {
        "probation_due:第一党支部:2027-09-01:T-30d:demo-yubei", "probation_due:第一党支部:2027-09-01:T0:demo-yubei"}


# --- planned with everything else ---------------------------------------------------------------------------------------
def record_id(rt, name: str) -> int:
    with transaction(rt.sessions) as s:
        return s.scalars(select(DevelopmentRecord.id).where(DevelopmentRecord.name == name)).one()


def planned(rt, day: date) -> tuple[int, set[str]]:
    with transaction(rt.sessions) as s:
        result = plan(s, day, now=local(day))
        keys = set(s.scalars(select(OutboxMessage.dedupe_key).where(
            OutboxMessage.kind.in_(("development", "probation_due")))))
    return result.new, keys


def test_planning_twice_plans_once(demo):
    yang = record_id(demo, "杨帆")
    new, keys = planned(demo, date(2026, 11, 24))
    assert {f"development:第一党支部:{yang}:talk:2026-12-01:T-7d:{u}" for u in ("demo-shuji", "demo-zuzhi")} <= keys
    again, keys_again = planned(demo, date(2026, 11, 24))
    assert again == 0 and keys_again == keys
    with transaction(demo.sessions) as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("development:%:demo-shuji"))).first()
        assert row.content["title"] == "发展党员提醒" and row.content["kind"] == "development"


def test_the_probation_reminder_comes_from_the_record_once(demo, say, clock):
    _, keys = planned(demo, date(2027, 1, 29))
    chen = sorted(k for k in keys if k.startswith("probation_due"))
    assert chen == ["probation_due:第一党支部:2027-03-01:T-30d:demo-yubei:demo-shuji",
                    "probation_due:第一党支部:2027-03-01:T-30d:demo-yubei:demo-zuzhi"]


def test_an_extension_moves_the_probation_reminders(demo, say, clock):
    clock.set(local(date(2027, 1, 10), 10))
    assert "已登记陈晨：延长预备期" in say("demo-shuji", "登记发展 陈晨 延长预备期 2027-01-10 6个月")
    _, keys = planned(demo, date(2027, 1, 29))
    assert not [k for k in keys if k.startswith("probation_due")]  # neither the record nor the roster rule
    _, keys = planned(demo, date(2027, 8, 2))
    assert "probation_due:第一党支部:2027-09-01:T-30d:demo-yubei:demo-zuzhi" in keys
    # a stopped record hands the 预备党员 back to the roster rule
    assert "已登记陈晨：终止发展" in say("demo-shuji", "登记发展 陈晨 终止 2027-01-10 转出")
    _, keys = planned(demo, date(2027, 3, 1))
    assert "probation_due:第一党支部:2027-03-01:T0:demo-yubei:demo-shuji" in keys
