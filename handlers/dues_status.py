"""我的党费 (a member's own dues this year) and 查党费 张三 (the same, for the branch's dues keepers).

Amounts are personal: only the member and their branch's 书记 / 组织委员 / 党费管理员 see them, and never in a
group chat — asked there, the reply is marked private (channels send it in the one-to-one chat) and carries a
the channel tells the group only where it went, without any figure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.intent import normalize
from bot.roles import DUES_ROLES, role_predicate
from handlers.common import managed_org
from handlers.dues_calculator import fen_to_yuan
from handlers.dues_people import ask_which, pick, resolve_member_by_name
from storage.dues import (
    ESCALATE_MONTHS,
    add_months,
    consecutive_unpaid,
    month_key,
    months_between,
    paid_months,
    previous_month,
    tracking_starts,
)
from storage.models import DuesPayment, DuesRate, Member, Role
from storage.org_settings import get_setting, show_theme_day
from storage.orgs import branch_of

KEEPERS = "支部书记、组织委员、党费管理员"
is_dues_role = role_predicate(*DUES_ROLES)
PICK_KIND = "dues_status_pick"


@dataclass(frozen=True)
class DuesStatus:
    member: Member
    year: int
    current: str  # this month
    start: date | None  # dues counted from (None: no amount fixed here yet)
    rate: DuesRate | None  # this year's fixed amount
    paid: dict[str, int]  # this year's paid months → amount in fen
    unpaid_this_year: list[str]  # due months of this year up to last month with no payment
    current_unpaid: bool
    arrears: list[str]  # the unbroken run of unpaid months ending last month (may reach into last year)
    arrears_fen: int  # what the arrears come to at each year's fixed amount (0 where none is fixed)


def member_status(ctx: Context, member: Member) -> DuesStatus:
    today = ctx.today
    year, current, last = today.year, month_key(today), previous_month(today)
    start = tracking_starts(ctx.session, [member]).get(member.id)
    rate = ctx.session.scalars(select(DuesRate).where(DuesRate.member_id == member.id,
                                                      DuesRate.year == year)).first()
    paid = {p.month: p.amount_fen for p in ctx.session.scalars(select(DuesPayment).where(
        DuesPayment.member_id == member.id, DuesPayment.month.like(f"{year:04d}-%")))}
    if start is None:
        return DuesStatus(member, year, current, None, rate, paid, [], False, [], 0)
    first = max(month_key(start), f"{year:04d}-01")
    unpaid = [m for m in months_between(first, last) if m not in paid]
    all_paid = paid_months(ctx.session, [member.id]).get(member.id, set())
    arrears = consecutive_unpaid(start, all_paid, last)
    rates = {r.year: r.monthly_fen for r in ctx.session.scalars(select(DuesRate).where(
        DuesRate.member_id == member.id))}
    owed = sum(rates.get(int(m[:4]), 0) for m in arrears)
    current_unpaid = current >= month_key(start) and current not in paid
    return DuesStatus(member, year, current, start, rate, paid, unpaid, current_unpaid, arrears, owed)


def span_text(months: list[str]) -> str:
    """['2026-01', …, '2026-10', '2026-12'] → '2026-01至2026-10、2026-12'."""
    runs: list[list[str]] = []
    for m in sorted(months):
        if runs and add_months(runs[-1][-1], 1) == m:
            runs[-1].append(m)
        else:
            runs.append([m])
    return "、".join(r[0] if len(r) == 1 else f"{r[0]}至{r[-1]}" for r in runs)


def keeper_names(ctx: Context, member: Member) -> str:
    """Whom to pay: the branch's 党费管理员, else its 组织委员, else its 书记."""
    branch = branch_of(member.organization)
    for role in ("党费管理员", "组织委员", "书记"):
        names = list(ctx.session.scalars(select(Member.name).join(Role).where(
            Role.organization_id == branch.id, Role.role == role, Member.status == "active")))
        if names:
            return f"{role}{'、'.join(names)}"
    return "支部书记"


def render(ctx: Context, st: DuesStatus, own: bool) -> str:
    who = "你" if own else st.member.name
    lines = [f"{st.member.name}同志{st.year}年党费情况：" if not own else f"{st.member.name}同志，你{st.year}年的党费情况："]
    if st.start is None and st.rate is None:
        lines.append("本年度党费标准尚未核定，还没有交纳记录。")
        lines.append(f"下一步：请{keeper_names(ctx, st.member)}核定{who}的月交纳额（设置党费 姓名 金额）。")
        return "\n".join(lines)
    if st.rate is not None:
        lines.append(f"每月应交：{fen_to_yuan(st.rate.monthly_fen)} 元（{st.year}年核定，年内一般不变）")
    else:
        lines.append(f"每月应交：{st.year}年尚未核定")
    if st.start and st.start.year == st.year and st.start.month > 1:
        lines.append(f"起交月份：{month_key(st.start)}（入党或建账之月）")
    if st.paid:
        total = sum(st.paid.values())
        lines.append(f"已交：{span_text(list(st.paid))}（{len(st.paid)} 个月，共 {fen_to_yuan(total)} 元）")
    else:
        lines.append("已交：本年还没有交纳记录")
    pending = [*st.unpaid_this_year, *([st.current] if st.current_unpaid else [])]
    lines.append(f"未交：{span_text(pending)}" + ("（含本月）" if st.current_unpaid else "") if pending
                 else "未交：无")
    if st.arrears:
        lines.append(f"欠交：连续 {len(st.arrears)} 个月（{span_text(st.arrears)}）"
                     + (f"，共 {fen_to_yuan(st.arrears_fen)} 元" if st.arrears_fen else ""))
    else:
        lines.append("欠交：无")
    lines.append("下一步：" + next_step(ctx, st, who))
    return "\n".join(lines)


def next_step(ctx: Context, st: DuesStatus, who: str) -> str:
    keeper = keeper_names(ctx, st.member)
    if st.rate is None:
        return f"请{keeper}核定{who}{st.year}年的月交纳额。"
    if len(st.arrears) >= ESCALATE_MONTHS:
        return (f"已连续 {len(st.arrears)} 个月未交，请尽快与{keeper}联系说明情况并补交；"
                "补交期限一般不超过 6 个月，具体由支部研究。")
    if st.arrears:
        return f"请尽快向{keeper}补交 {len(st.arrears)} 个月党费（补交一般不超过 6 个月）。"
    if st.current_unpaid:
        day = show_theme_day(get_setting(branch_of(st.member.organization), "theme_day"))
        return f"本月党费请按月交给{keeper}（本支部主题党日为{day}）。"
    return "本月已交，无需操作。"


def private_reply(ctx: Context, text: str, subject: str) -> Reply:
    """Personal figures: private everywhere; asked in a group, the channel sends them 1:1 and tells the group only
    where they went (without any amount)."""
    return Reply(text=text, private=True)


def may_see_amount(ctx: Context, member: Member) -> bool:
    """The member themself, or a 书记 / 组织委员 / 党费管理员 of the member's own branch."""
    if member.id == ctx.member.id:
        return True
    branch = branch_of(member.organization)
    return ctx.roles.holds(*DUES_ROLES, org_id=branch.id)


def my_dues(incoming: Incoming, ctx: Context) -> Reply:
    """我的党费, and the questions that mean it (我这个月党费交了吗, 党费交到几月了, 我欠党费吗): the direct answer first,
    then the whole year."""
    st = member_status(ctx, ctx.member)
    return private_reply(ctx, "\n".join([*direct_answer(ctx, st, normalize(incoming.text)),
                                         render(ctx, st, own=True)]), "你的党费情况")


def direct_answer(ctx: Context, st: DuesStatus, question: str) -> list[str]:
    t = question.replace("缴", "交")
    if st.start is None and st.rate is None:
        return []
    if "交到" in t:
        last = max(paid_months(ctx.session, [st.member.id]).get(st.member.id, set()), default=None)
        return [f"你的党费交到了 {last[:4]}年{int(last[5:])}月。" if last else "你还没有交纳记录。"]
    named = re.search(r"(\d{1,2})月", t)
    if re.search(r"这个月|本月|当月|这月", t) or (named and 1 <= int(named.group(1)) <= 12):
        month = st.current if not named else f"{st.year:04d}-{int(named.group(1)):02d}"
        if month > st.current:
            return [f"{int(month[5:])}月还没到；本月（{int(st.current[5:])}月）的党费"
                    + ("已交。" if st.current in st.paid else "还没有交。")]
        if month in st.paid:
            return [f"你{int(month[5:])}月的党费已交（{fen_to_yuan(st.paid[month])} 元）。"]
        owed = f"，应交 {fen_to_yuan(st.rate.monthly_fen)} 元" if st.rate else ""
        return [f"你{int(month[5:])}月的党费还没有交{owed}，请交给{keeper_names(ctx, st.member)}。"]
    if re.search(r"欠|没交|未交|还差|漏交|补", t):
        if st.arrears:
            return [f"你欠交 {len(st.arrears)} 个月党费（{span_text(st.arrears)}）"
                    + (f"，共 {fen_to_yuan(st.arrears_fen)} 元。" if st.arrears_fen else "。")]
        return ["你目前没有欠交的党费" + ("（本月的还没交）。" if st.current_unpaid else "。")]
    return []


def keeper_view(ctx: Context, member: Member) -> Reply:
    if not may_see_amount(ctx, member):
        raise UserError("只能查看本支部党员的党费情况。")
    return private_reply(ctx, render(ctx, member_status(ctx, member), own=False), f"{member.name}的党费情况")


def look_up(incoming: Incoming, ctx: Context) -> Reply:
    org = managed_org(ctx, DUES_ROLES)
    name = ctx.args.strip()
    if not name:
        raise UserError("请写成：查党费 张三")
    found = resolve_member_by_name(ctx, name, org)
    if isinstance(found, list):
        return ask_which(ctx, PICK_KIND, found, {}, f"查党费：{org.name}")
    return keeper_view(ctx, found)


def resume_look_up(incoming: Incoming, ctx: Context, payload: dict) -> Reply:
    return keeper_view(ctx, pick(ctx, payload))


HANDLERS = (
    Handler(name="dues_mine", func=my_dues, commands=("我的党费", "查我的党费"),
            summary="查看本人今年的党费交纳情况（私信回复）", example="我的党费"),
    Handler(name="dues_look_up", func=look_up, commands=("查党费",), allowed=is_dues_role, roles_text=KEEPERS,
            summary="查看本支部某位党员的党费情况", example="查党费 张伟", section="党费管理员"),
)

PENDING = {PICK_KIND: resume_look_up}
