"""Questions about oneself, answered from one's own record: 我这个月党费交了吗, 党费交到几月了, 我的党龄, 我什么时候能
转正, 我的政治生日, 下次开会什么时候, 这个月主题党日哪天.

A question is about oneself when it says so (我, 我的, 本人) or when it can only mean the asker's own record or branch
(党费交到几月了, 下次开会什么时候). A question about the rule (党龄怎么算, 主题党日每个月哪天开, 预备期多长) has none of
these marks and is left to the knowledge base, which is registered after this module.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from bot.core import Context, Handler, Incoming, Reply
from handlers.dues_status import my_dues, private_reply
from storage.meetings import label, upcoming_for_member
from storage.models import Meeting, Member
from storage.org_settings import get_setting, show_theme_day
from storage.orgs import add_years, branch_of

CHARTER = "《中国共产党章程》第七条"
RULES_2026 = "《中国共产党发展党员工作细则》"

# "I" as the asker, not 我们 (our branch) nor 自己 in a rule (预备期满了要自己写转正申请吗)
_ME = re.compile(r"我(?!们)|本人|俺")
_RULE = re.compile(r"怎么算|如何算|如何计算|算不算|一般|通常|规定|要求|会怎样|会怎么样|怎么办|怎么处理|会不会|除名|脱党|"
                   r"处分|期限|最多|最长|多长|是什么|什么意思|有哪些|哪些人")


def _d(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _years(since: date, today: date) -> int:
    return today.year - since.year - ((today.month, today.day) < (since.month, since.day))


# 党费 ------------------------------------------------------------------------------------------------------------
_DUES_STATE = re.compile(r"交了吗|交了没|交没交|有没有交|交过|交到|交齐|交清|交完|欠|没交|未交|还差|漏交|交了几|交了多少|"
                         r"交上了|交上没|交了没有|记上|登记了吗|还要补|补多少")
_DUES_RULE = re.compile(r"会怎样|会怎么样|怎么办|怎么处理|会不会|除名|脱党|处分|期限|最多|一般|规定|能不能|可不可以|"
                        r"可以|几个月不交|多久|谁|交到哪[里儿]|交给谁|在哪[里儿]?交|怎么交|哪里交")
_PAID_UP_TO = re.compile(r"交到(了)?(几月|几个?月|哪个?月|哪一个月|什么时候|几几年)")


def asks_own_dues(text: str) -> bool:
    """我这个月党费交了吗, 党费交到几月了, 我欠党费吗, 我还欠几个月党费 — not 欠交党费会怎样 nor 谁没交党费."""
    t = text.replace("缴", "交")
    if "党费" not in t or not _DUES_STATE.search(t) or _DUES_RULE.search(t):
        return False
    if _ME.search(t):
        return True
    # no subject: only the asker's own record fits 党费交到几月了 / 这个月党费交了吗
    return bool(_PAID_UP_TO.search(t) or re.search(r"交了(吗|没)|交没交|有没有交", t)) \
        and not re.search(r"他|她|大家|支部|全体", t)


def own_dues(incoming: Incoming, ctx: Context) -> Reply:
    return my_dues(incoming, ctx)


# 党龄、入党时间 ------------------------------------------------------------------------------------------------
def asks_party_age(text: str) -> bool:
    if not _ME.search(text) or re.search(r"怎么算|如何算|算不算|从哪天|从什么时候", text) and "我的" not in text:
        return False
    return bool(re.search(r"党龄|入党(有)?(多少|几|多)(年|久)|(哪年|哪一年|什么时候|哪天)入(的)?党|入党(时间|日期)|"
                          r"入党.{0,2}(多少|几)周年", text))


def full_member_day(member: Member) -> tuple[date | None, bool]:
    """(the 转正 date, whether it was inferred as the end of a one-year 预备期 because none is on the roster)."""
    if member.category == "预备":
        return None, False
    if member.full_member_on:
        return member.full_member_on, False
    if member.joined_on:
        return add_years(member.joined_on, 1), True
    return None, False


def party_age(incoming: Incoming, ctx: Context) -> Reply:
    m, today = ctx.member, ctx.today
    lines = [f"{m.name}同志："]
    if m.joined_on is None:
        lines.append("名单上还没有你的入党日期，算不出党龄。请联系支部组织委员补登入党日期和转正日期。")
        return private_reply(ctx, "\n".join(lines), "你的党龄")
    if m.category == "预备":
        end = add_years(m.joined_on, 1)
        lines.append(f"你目前是预备党员，党龄从转正之日算起，现在还没有党龄；预备期将于 {_d(end)} 期满，"
                     "按期转正的，党龄从那天算起。")
    else:
        full, inferred = full_member_day(m)
        lines.append(f"党龄：{_years(full, today)} 年（从 {_d(full)} 转为正式党员之日算起）。")
        if inferred:
            lines.append("名单上没有登记转正日期，以上按入党满一年推算；请联系组织委员补登。")
    lines.append(f"入党时间：{_d(m.joined_on)}（支部党员大会通过为预备党员之日），至今 {_years(m.joined_on, today)} 年。")
    lines.append(f"党龄从预备期满转为正式党员之日算起，预备期不计入党龄（{CHARTER}）。日期有误请联系组织委员更正。")
    return private_reply(ctx, "\n".join(lines), "你的党龄")


# 转正 ------------------------------------------------------------------------------------------------------------
def asks_own_conversion(text: str) -> bool:
    if not _ME.search(text) or not re.search(r"转正|预备期|转为正式", text):
        return False
    return bool(re.search(r"什么时候|啥时候|哪天|几号|几月|多久|几时|什么时间|到期|满了吗|满没满|了吗|了没|能不能|能否|"
                          r"还有多|还要多|还差|期满|结束|怎么转正|要交什么|交什么|准备什么|要准备", text))


def conversion(incoming: Incoming, ctx: Context) -> Reply:
    from reminders.durations import time_left

    m, today = ctx.member, ctx.today
    if m.category != "预备":
        full, inferred = full_member_day(m)
        text = (f"{m.name}同志，你已于 {_d(full)} 转为正式党员{'（按入党满一年推算）' if inferred else ''}，无需再转正。"
                if full else f"{m.name}同志，名单上你是正式党员，但没有登记入党和转正日期，请联系组织委员补登。")
        return private_reply(ctx, text, "你的转正时间")
    if m.joined_on is None:
        return private_reply(ctx, f"{m.name}同志，名单上还没有你成为预备党员的日期，算不出预备期何时期满。"
                                  "请联系支部组织委员补登入党日期。", "你的转正时间")
    end = add_years(m.joined_on, 1)
    left = (end - today).days
    if left > 0:
        when = f"将于 {_d(end)} 期满，{time_left(today, end)}"
    elif left == 0:
        when = "今天期满"
    else:
        when = f"已于 {_d(end)} 期满（{-left} 天前），请尽快办理"
    lines = [f"{m.name}同志：你的预备期从 {_d(m.joined_on)}（支部党员大会通过之日）算起，为期一年，{when}。",
             "期满前后请做好：",
             "1. 预备期满时主动向党支部提交书面转正申请（写明预备期的表现、不足和今后努力方向）；",
             "2. 继续按时参加组织生活、交纳党费，按支部要求汇报思想。",
             "之后：党小组提出意见 → 支委会审查 → 支部党员大会讨论表决 → 上级党委审批（一般 3 个月内）。",
             "转正时间为预备期满之日，党龄从那天算起；需要继续考察的，支部可延长预备期一次（半年到一年）。",
             f"依据：{CHARTER}；{RULES_2026}第三十一至三十三条。有疑问请联系支部组织委员。"]
    return private_reply(ctx, "\n".join(lines), "你的转正时间")


# 政治生日 --------------------------------------------------------------------------------------------------------
def asks_political_birthday(text: str) -> bool:
    return "政治生日" in text and bool(_ME.search(text))


def political_birthday(incoming: Incoming, ctx: Context) -> Reply:
    from reminders.rules import cn

    m, today = ctx.member, ctx.today
    if m.joined_on is None:
        return private_reply(ctx, f"{m.name}同志，名单上还没有你的入党日期，请联系支部组织委员补登。", "你的政治生日")
    j = m.joined_on
    year = today.year if (today.month, today.day) <= (j.month, j.day) else today.year + 1
    lines = [f"{m.name}同志：你的政治生日是 {j.month}月{j.day}日（{_d(j)}，支部党员大会通过你为预备党员的日子）。"]
    if (today.month, today.day) == (j.month, j.day):
        lines.append(f"今天是你入党 {today.year - j.year} 周年的政治生日，祝贺你！")
    else:
        lines.append(f"{year}年{j.month}月{j.day}日是你入党 {year - j.year} 周年。")
    org = branch_of(m.organization)
    day = _theme_day(ctx, org, year, j.month)
    if day is not None:
        when = f"{year}年{cn(day)}" if year != today.year else cn(day)
        tense = "已在" if day < today else "将在"
        lines.append(f"支部在每月主题党日为当月入党的同志过政治生日：{j.month}月的主题党日{tense}{when}。")
    lines.append("有的单位以入党宣誓日或批准日为政治生日，以本支部的做法为准。")
    return private_reply(ctx, "\n".join(lines), "你的政治生日")


# 下次开会、这个月主题党日 ----------------------------------------------------------------------------------------
KINDS = {"主题党日": ("主题党日", "党日"), "党员大会": ("党员大会", "支部大会"), "支委会": ("支委会", "支部委员会"),
         "党小组会": ("党小组会", "小组会"), "党课": ("党课",), "组织生活会": ("组织生活会",), "民主评议": ("民主评议",)}
_MEETING = re.compile(r"开会|会议|有会|什么会|啥会|要开的会|主题党日|党日|党员大会|支部大会|支委会|支部委员会|党小组会|小组会|党课|组织生活会|"
                      r"民主评议|活动")
_WHEN = re.compile(r"什么时候|啥时候|哪天|几号|几点|哪一天|什么时间|在哪|哪里|地点|时间|开会吗|有会吗|有没有会|"
                   r"有活动吗|开不开|是哪|是几|安排在")
_SOON = re.compile(r"下次|下一次|下回|这个月|本月|这月|下个月|下月|最近|近期|今天|明天|后天|这周|本周|下周|这星期|"
                   r"我们|咱们|咱|本支部|我要|我该|我得|\d{1,2}月(?!\d)")
_SCHEDULE_RULE = re.compile(r"一般|通常|规定|要求|每个月|每月|每年|每季度|多久|几次|怎么办|能不能|可不可以|应该|必须|"
                            r"算不算|碰上|遇到|赶上|放假|节假日")
AHEAD_DAYS = 62


def asks_schedule(text: str) -> bool:
    return bool(_MEETING.search(text) and _WHEN.search(text) and _SOON.search(text)
                and not _SCHEDULE_RULE.search(text))


def _kinds_named(text: str) -> list[str]:
    return [k for k, words in KINDS.items() if any(w in text for w in words)]


def _theme(ctx: Context, org, year: int, month: int) -> tuple[date, bool] | None:
    """(the month's 主题党日 as 本月安排 and the reminders compute it, whether a meeting was scheduled for it)."""
    from reminders.rules import theme_date
    from reminders.state import load_calendar, load_states
    from reminders.workdays import Calendar

    if org.type != "党支部":
        return None
    states = load_states(ctx.session, date(year, month, 1), [org.id], ctx.settings.tz)
    if not states:
        return None
    return theme_date(states[0], year, month, Calendar(load_calendar(ctx.session)))


def _theme_day(ctx: Context, org, year: int, month: int) -> date | None:
    found = _theme(ctx, org, year, month)
    return found[0] if found else None


def _held_on(ctx: Context, day: date, kind: str) -> Meeting | None:
    """The member's meeting of `kind` on `day`, started or not."""
    tz = ctx.settings.tz
    since = datetime.combine(day, time(0), tzinfo=tz) - timedelta(seconds=1)
    return next((mt for mt in upcoming_for_member(ctx.session, ctx.member, since, [kind], include_closed=True)
                 if mt.starts_at.astimezone(tz).date() == day), None)


def _month_asked(text: str, today: date) -> tuple[int, int] | None:
    from reminders.rules import add_months

    if re.search(r"这个月|本月|这月", text):
        return today.year, today.month
    if re.search(r"下个月|下月", text):
        return (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    if m := re.search(r"(\d{1,2})月(?!\d)", text):
        month = int(m.group(1))
        if 1 <= month <= 12:
            # last month is the one just past (已过); a month further back means next year's
            first = add_months(date(today.year, today.month, 1), -1)
            year = next(y for y in (today.year - 1, today.year, today.year + 1) if date(y, month, 1) >= first)
            return year, month
    return None


def _meeting_line(meeting: Meeting, tz) -> str:
    from reminders.rules import cn

    at = meeting.starts_at.astimezone(tz)
    return f"· {cn(at.date())} {at:%H:%M} {label(meeting)}{('，' + meeting.place) if meeting.place else ''}"


def _rule_time_place(org) -> tuple[str, str, str]:
    """(the rule's 主题党日 time, its place, what of the two the branch has not set: 时间地点 / 时间 / 地点 / '')."""
    settings = org.settings or {}
    at, place = settings.get("theme_day_time") or "", settings.get("theme_day_place") or ""
    return at, place, ("" if at else "时间") + ("" if place else "地点")


def _upcoming(ctx: Context, org, kinds: list[str]) -> list[tuple[date, str]]:
    """The member's meetings of the next two months (of `kinds`, or all), with the branch's rule-day 主题党日 where
    none was scheduled for it: (day, line), soonest first."""
    from reminders.rules import cn

    today, tz = ctx.today, ctx.settings.tz
    items = [(mt.starts_at.astimezone(tz).date(), _meeting_line(mt, tz))  # only those the member is called to
             for mt in upcoming_for_member(ctx.session, ctx.member, ctx.now, kinds or None)]
    if org.type == "党支部" and (not kinds or "主题党日" in kinds):
        rule_text = show_theme_day(get_setting(org, "theme_day"))
        for k in range(3):
            y, mo = divmod(today.month - 1 + k, 12)
            found = _theme(ctx, org, today.year + y, mo + 1)
            if found and not found[1] and found[0] >= today:
                at, place, unknown = _rule_time_place(org)
                items.append((found[0], f"· {cn(found[0])}{' ' + at if at else ''} 主题党日{'，' + place if place else ''}"
                                        f"（按支部规定的{rule_text}{'，' + unknown + '以通知为准' if unknown else ''}）"))
    return sorted(d for d in items if d[0] <= today + timedelta(days=AHEAD_DAYS))


def schedule(incoming: Incoming, ctx: Context) -> Reply:
    from reminders.rules import cn

    text, today, tz = ctx.args, ctx.today, ctx.settings.tz
    org = branch_of(ctx.member.organization)
    kinds = _kinds_named(text)
    items = _upcoming(ctx, org, kinds)
    leave_hint = "不能参加的请提前请假，例如：请假 主题党日 出差。"
    asked = _month_asked(text, today)
    if asked is not None and "主题党日" in kinds and (found := _theme(ctx, org, *asked)) is not None:
        day, explicit = found
        head = f"{org.name}{asked[1]}月主题党日：{cn(day)}"
        held = _held_on(ctx, day, "主题党日") if explicit else None
        if held is not None:
            at = held.starts_at.astimezone(tz)
            head += f" {at:%H:%M}{('，' + held.place) if held.place else ''}。"
        elif day >= today:
            at, place, unknown = _rule_time_place(org)
            head += (f"{' ' + at if at else ''}{'，' + place if place else ''}"
                     f"（按支部规定的{show_theme_day(get_setting(org, 'theme_day'))}"
                     f"{'，具体' + unknown + '以通知为准' if unknown else ''}）。")
        else:
            head += "（已过）。"
        lines = [head]
        later = [line for d, line in items if d > day]
        if day < today and later:
            lines.append("下一次：" + later[0].removeprefix("· "))
        elif day >= today:
            lines.append(leave_hint)
        return Reply(text="\n".join(lines))
    if not items:
        what = "、".join(kinds) if kinds else "会议"
        return Reply(text=f"未来两个月还没有安排你要参加的{what}。发送「本月安排」查看本月情况；具体以支部通知为准。")
    what = "、".join(kinds) if kinds else "会议和活动"
    return Reply(text="\n".join([f"你接下来的{what}：", *(line for _, line in items[:4]), leave_hint]))


HANDLERS = (
    Handler(name="my_dues_question", func=own_dues, match=lambda text, words: asks_own_dues(text)),
    Handler(name="my_party_age", func=party_age, match=lambda text, words: asks_party_age(text),
            summary="我的党龄、入党时间", example="我的党龄"),
    Handler(name="my_conversion", func=conversion, match=lambda text, words: asks_own_conversion(text),
            summary="预备党员：我什么时候能转正、要交什么", example="我什么时候能转正"),
    Handler(name="my_political_birthday", func=political_birthday,
            match=lambda text, words: asks_political_birthday(text), summary="我的政治生日", example="我的政治生日"),
    Handler(name="my_schedule", func=schedule, match=lambda text, words: asks_schedule(text),
            summary="下次开会的时间地点", example="下次开会什么时候"),
)
