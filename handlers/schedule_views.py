"""本月安排 (a member), 待办提醒 (a secretary), 换届情况 (a 书记, or a 上级管理员 for every branch below them)."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.roles import SECRETARY_ROLES, RoleSet
from handlers.common import chosen_branch, managed_org
from storage.attendance import signed_in_count
from storage.dues import month_key
from storage.models import CommitteeTerm, DuesPayment, DuesRate, Meeting, Organization
from storage.orgs import branch_of, descendants

if TYPE_CHECKING:
    from reminders.rules import OrgState, Term

COMMITTEE = "支部书记、副书记、组织委员"
AHEAD = 30


def _branch_state(ctx: Context, org: Organization) -> OrgState:
    from reminders.state import load_states

    states = load_states(ctx.session, ctx.today, [org.id], ctx.settings.tz)
    if not states:
        raise UserError(f"{org.name}不是党支部，没有支部的活动安排。")
    return states[0]


def month_plan(incoming: Incoming, ctx: Context) -> Reply:
    from reminders.rules import add_months, cn, theme_date
    from reminders.state import load_calendar
    from reminders.workdays import Calendar

    org = branch_of(ctx.member.organization)
    today = ctx.today
    lines = [f"{org.name}{today.year}年{today.month}月安排："]
    if org.type == "党支部":
        day, explicit = theme_date(_branch_state(ctx, org), today.year, today.month, Calendar(load_calendar(ctx.session)))
        if not explicit:  # a 主题党日 already arranged or held is listed with the meetings below
            lines.append(f"· 主题党日：{cn(day)}{'（已过）' if day < today else ''}（按支部规定日期）")
    tz = ctx.settings.tz
    start = datetime.combine(today.replace(day=1), time(0), tzinfo=tz)
    end = datetime.combine(add_months(today.replace(day=1), 1), time(0), tzinfo=tz)
    org_ids = {org.id, ctx.member.organization_id}
    meetings = ctx.session.scalars(select(Meeting).where(Meeting.organization_id.in_(org_ids),
                                                         Meeting.starts_at >= start, Meeting.starts_at < end)
                                   .order_by(Meeting.starts_at)).all()
    for m in meetings:
        at = m.starts_at.astimezone(tz)
        lines.append(f"· {cn(at.date())} {at:%H:%M} {'、'.join(sorted(m.kinds)) or m.title}"
                     f"{('，' + m.place) if m.place else ''}{_state_text(ctx, m, at.date(), today)}")
    if not meetings:
        lines.append("· 本月还没有登记其他会议。")
    lines.append(_dues_line(ctx, today))
    return Reply(text="\n".join(lines), private=True)


def _state_text(ctx: Context, m: Meeting, day: date, today: date) -> str:
    """（已开）/（已安排）/ an arranged meeting whose day passed with no sign-in, which does not count as held."""
    if m.status != "scheduled":
        return "（已开）" if m.status == "closed" else "（签到中）"
    if day >= today:
        return "（已安排）"
    if signed_in_count(ctx.session, m.id):  # members signed in within its window: it was held
        return "（已开）"
    return "（没有签到记录；开过的请发送“登记会议”补登）"


def _dues_line(ctx: Context, today: date) -> str:
    month = month_key(today)
    paid = ctx.session.scalars(select(DuesPayment).where(DuesPayment.member_id == ctx.member.id,
                                                         DuesPayment.month == month)).first()
    if paid is not None:
        return f"· 你{today.month}月的党费已交（{paid.amount_fen / 100:.2f} 元，{paid.paid_on.isoformat()}）。"
    rate = ctx.session.scalars(select(DuesRate).where(DuesRate.member_id == ctx.member.id,
                                                      DuesRate.year == today.year)).first()
    amount = f"，应交 {rate.monthly_fen / 100:.2f} 元" if rate else ""
    return f"· 你{today.month}月的党费还没有交{amount}，请在主题党日或尽快交纳。"


def coming_up(incoming: Incoming, ctx: Context) -> Reply:
    from reminders.development_plan import load_pipelines
    from reminders.development_rules import development_due_items
    from reminders.rules import TITLES, cn, due_items
    from reminders.state import load_calendar
    from reminders.workdays import Calendar

    org = chosen_branch(ctx, "待办提醒") or managed_org(ctx)
    state = _branch_state(ctx, org)
    cal = Calendar(load_calendar(ctx.session))
    today = ctx.today
    seen: dict[str, tuple[date, str, str]] = {}
    pipelines = load_pipelines(ctx.session, [org.id], ctx.settings.tz)  # 发展党员 (reminders/development_rules.py)
    for k in range(AHEAD + 1):
        day = today + timedelta(days=k)
        for d in [*due_items(state, day, cal), *(x for p in pipelines for x in development_due_items(p, day, cal))]:
            if ":greeting:" not in d.key:  # the birthday greetings go with the secretary's list
                seen.setdefault(d.key, (d.due_at.date(), d.kind, d.text))
    if not seen:
        return Reply(text=f"{org.name}未来{AHEAD}天没有需要提醒的事项。", private=True)
    # per-member items (dues, greetings) are counted, not listed one by one
    counted = Counter((when, kind) for when, kind, _ in seen.values() if kind in ("dues_collection",))
    lines = [f"{org.name}未来{AHEAD}天的提醒（含仍需处理的）："]
    shown: set[tuple[date, str]] = set()
    for when, kind, text in sorted(seen.values()):
        if (when, kind) in counted:
            if (when, kind) not in shown:
                shown.add((when, kind))
                lines.append(f"· {cn(when)} {TITLES[kind]}：{counted[(when, kind)]} 名党员本月党费未交，将单独提醒")
            continue
        lines.append(f"· {cn(when)} {TITLES[kind]}：{text}")
    return Reply(text="\n".join(lines), private=True)


def term_stage(term: Term | None, today: date) -> str:
    from reminders.durations import time_left
    from reminders.rules import add_months

    if term is None:
        return "未登记任期"
    end = term.ends_on
    if today >= add_months(end, 12):
        return f"已届满超过1年（{(today - end).days} 天），请督促换届"
    if today >= end:
        return f"已届满 {(today - end).days} 天，尚未登记换届"
    left = time_left(today, end)
    for months, name in ((1, "届满前1个月：召开支委会研究换届"), (3, "届满前3个月：报送换届请示"),
                         (6, "届满前6个月：已发换届提醒")):
        if today >= add_months(end, -months):
            return f"{left}，{name}"
    return left


def _term_line(org_name: str, term: Term | None, today: date) -> str:
    if term is None:
        return f"· {org_name}：未登记支委会任期"
    return (f"· {org_name}：{term.elected_on.isoformat()} 选举，任期{term.term_years}年，"
            f"{term.ends_on.isoformat()} 届满 —— {term_stage(term, today)}")


def terms_view(incoming: Incoming, ctx: Context) -> Reply:
    today = ctx.today
    admin_orgs = ctx.roles.orgs_where("上级管理员")
    if admin_orgs:
        branches: dict[int, Organization] = {}
        for org_id in sorted(admin_orgs):
            root = ctx.session.get(Organization, org_id)
            for o in [root, *descendants(ctx.session, root)]:
                if o.type == "党支部":
                    branches[o.id] = o
        terms = _current_terms(ctx, list(branches))
        far = date.max
        ordered = sorted(branches.values(), key=lambda o: (terms[o.id].ends_on if o.id in terms else far, o.name))
        lines = [f"所辖 {len(ordered)} 个党支部的换届情况（按届满日期）："]
        lines += [_term_line(o.name, terms.get(o.id), today) for o in ordered]
        return Reply(text="\n".join(lines), private=True)
    org = managed_org(ctx, {"书记", "副书记"})
    term = _current_terms(ctx, [org.id]).get(org.id)
    text = _term_line(org.name, term, today)[2:]
    return Reply(text=text + "\n换届选举后请发送：换届完成 选举日期 任期3年，例如“换届完成 2026-11-20 任期3年”。",
                 private=True)


def _current_terms(ctx: Context, org_ids: list[int]) -> dict[int, Term]:
    from reminders.rules import Term

    out: dict[int, Term] = {}
    for t in ctx.session.scalars(select(CommitteeTerm).where(CommitteeTerm.organization_id.in_(org_ids))
                                 .order_by(CommitteeTerm.elected_on)):
        out[t.organization_id] = Term(t.elected_on, t.term_years, t.ends_on)
    return out


def committee_or_upper(roles: RoleSet) -> bool:
    return roles.holds(*SECRETARY_ROLES, "上级管理员")


def may_see_terms(roles: RoleSet) -> bool:
    return roles.holds("书记", "副书记", "上级管理员")


HANDLERS = (
    Handler(name="month_plan", func=month_plan, commands=("本月安排", "这个月安排"),
            keywords=(frozenset({"本月", "安排"}),), summary="本月主题党日、会议和我的党费", example="本月安排"),
    Handler(name="coming_up", func=coming_up, commands=("待办提醒", "近期提醒"),
            allowed=committee_or_upper, roles_text=COMMITTEE + "或上级管理员", summary="本支部未来30天要办的事", example="待办提醒", section="支部委员"),
    Handler(name="terms_view", func=terms_view, commands=("换届情况",), allowed=may_see_terms,
            roles_text="支部书记、副书记或上级管理员", summary="支委会任期和换届进度", example="换届情况",
            section="支部委员"),
)
