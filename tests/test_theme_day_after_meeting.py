"""Once the month's 主题党日 is under way or over, nobody is called to attend it any more, and the 政治生日 greeting
goes out on its morning, before the meeting begins (domain T09.1b: 政治生日 are marked at the 主题党日)."""
from __future__ import annotations

import re
from datetime import date, datetime

from reminders.rules import DEFAULT_TZ, MeetingRecord, OrgState, Person, due_items

SHUJI = Person(1, "王书记", "shuji")
BORN_IN_DECEMBER = Person(2, "李十二", "li", "正式", date(2010, 12, 5))
THEME_DAY = date(2026, 12, 18)  # the 20th is a Sunday: the rule's 主题党日 moves to Friday the 18th


def branch(*meetings: MeetingRecord, settings: dict | None = None) -> OrgState:
    return OrgState(org_id=1, name="测试支部", settings=settings or {}, members=(SHUJI, BORN_IN_DECEMBER),
                    roles={"书记": (SHUJI,)}, meetings=meetings)


def theme_meeting(hour: int, minute: int = 0, held: bool = False) -> MeetingRecord:
    return MeetingRecord(THEME_DAY, frozenset({"主题党日"}),
                         datetime.combine(THEME_DAY, datetime.min.time().replace(hour=hour, minute=minute),
                                          tzinfo=DEFAULT_TZ), held)


def keys(state: OrgState, day: date = THEME_DAY) -> set[str]:
    return {d.key for d in due_items(state, day)}


def test_the_call_to_attend_stops_once_the_meeting_is_held():
    arranged = branch(theme_meeting(14, 30))
    assert "theme_day:测试支部:2026-12-18:T0" in keys(arranged)
    assert not {k for k in keys(branch(theme_meeting(14, 30, held=True))) if k.startswith("theme_day")}
    # a 主题党日 held early in the month silences the rule day's notices too
    early = MeetingRecord(date(2026, 12, 8), frozenset({"主题党日", "党课"}), None, True)
    assert not {k for k in keys(branch(early), date(2026, 12, 15)) if k.startswith(("theme_day", "political"))}


def test_the_greeting_goes_out_before_the_meeting_and_not_after():
    greeting = next(d for d in due_items(branch(theme_meeting(14, 30)), THEME_DAY) if ":greeting:" in d.key)
    assert greeting.recipients == (BORN_IN_DECEMBER,)
    assert (greeting.due_at.hour, greeting.relevant_until.hour, greeting.relevant_until.minute) == (8, 14, 30)
    early = next(d for d in due_items(branch(theme_meeting(7, 30)), THEME_DAY) if ":greeting:" in d.key)
    assert early.due_at < early.relevant_until == early.due_at.replace(hour=7, minute=30)
    # the rule's day at the branch's 主题党日时间: before that time
    ruled = next(d for d in due_items(branch(settings={"theme_day_time": "08:30"}), THEME_DAY) if ":greeting:" in d.key)
    assert (ruled.due_at.hour, ruled.due_at.minute, ruled.relevant_until.hour) == (7, 30, 8)
    # no time at all: the morning, as before, until the day ends
    plain = next(d for d in due_items(branch(), THEME_DAY) if ":greeting:" in d.key)
    assert (plain.due_at.hour, plain.relevant_until.date()) == (8, date(2026, 12, 19))


def test_todo_list_after_the_meeting_on_wecom(request, clock):
    """The secretary's 待办提醒 through the WeCom fake on the 主题党日: before the sign-in it says 今天是…主题党日;
    once members have signed in, and after the sign-in has ended, it does not."""
    from tests.test_channels_conversation import WecomDriver

    clock.set(datetime(2026, 12, 18, 9, 0, tzinfo=DEFAULT_TZ))
    say = WecomDriver().start(request)
    call = "今天是第一党支部12月主题党日，请按时参加"
    assert call in say("demo-shuji", "待办提醒")
    opened = say("demo-shuji", "发起签到 主题党日")
    code = re.search(r"签到码：(\d{4})", opened).group(1)
    assert say("demo-dangyuan", f"签到 {code}").startswith("签到成功")
    during = say("demo-shuji", "待办提醒")
    assert call not in during and "第一党支部未来30天的提醒" in during
    assert "已结束" in say("demo-shuji", "结束签到")
    assert call not in say("demo-shuji", "待办提醒")
