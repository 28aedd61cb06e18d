"""换届完成 DATE 任期N年: recording an election that has happened starts a new committee term (audited).

The 主题党日 rule and the 组织生活会 window are ordinary settings, changed through 设置 (handlers/branch_admin.py).
"""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.roles import role_predicate
from storage.models import CommitteeTerm, Organization
from storage.orgs import add_years, current_term, descendants, find_org
from storage.quoting import clip

USAGE = "请写成：换届完成 2026-11-20 任期3年（上级管理员请写支部名称：换届完成 第一党支部 2026-11-20 任期3年）"
PATTERN = re.compile(r"(?:(?P<org>\S+?)\s+)?(?P<day>\d{4}-\d{1,2}-\d{1,2})(?:\s*任期\s*(?P<years>\d+)\s*年)?")


def _target(ctx: Context, name: str | None) -> Organization:
    own = [o for o in ctx.roles.orgs_where("书记")]
    admin = ctx.roles.orgs_where("上级管理员")
    if name:
        org = find_org(ctx.session, name)
        if org is None or org.type != "党支部":
            raise UserError(f"没有名为“{clip(name)}”的党支部。{USAGE}")
        allowed = set(own)
        for a in admin:
            allowed |= {o.id for o in descendants(ctx.session, ctx.session.get(Organization, a))}
        if org.id not in allowed:
            raise UserError(f"你不能为{org.name}登记换届：只有该支部书记或上级管理员可以。")
        return org
    if len(own) == 1:
        return ctx.session.get(Organization, own[0])
    raise UserError(f"请写明是哪个党支部。{USAGE}")


def record_election(incoming: Incoming, ctx: Context) -> Reply:
    m = PATTERN.fullmatch(ctx.args.strip())
    if not m:
        raise UserError(USAGE)
    try:
        y, mo, d = (int(x) for x in m.group("day").split("-"))
        elected = date(y, mo, d)
    except ValueError:
        raise UserError(f"“{clip(m.group('day'))}”不是有效日期。{USAGE}") from None
    org = _target(ctx, m.group("org"))
    previous = current_term(ctx.session, org)
    years = int(m.group("years")) if m.group("years") else (previous.term_years if previous else 3)
    if not 1 <= years <= 5:
        raise UserError("任期年限应为 3 或 5 这样的年数（1 到 5 年）。")
    if elected > ctx.today:
        raise UserError(f"选举日期 {elected.isoformat()} 还没到：请在选举之后登记。")
    if previous is not None and elected <= previous.elected_on:
        raise UserError(f"选举日期须晚于上一届的选举日期 {previous.elected_on.isoformat()}。")
    if ctx.session.scalars(select(CommitteeTerm).where(CommitteeTerm.organization_id == org.id,
                                                       CommitteeTerm.elected_on == elected)).first():
        raise UserError("这一天的换届已经登记过了。")
    ends = add_years(elected, years)
    ctx.session.add(CommitteeTerm(organization_id=org.id, elected_on=elected, term_years=years, ends_on=ends))
    ctx.audit("term.elected", org.name, elected_on=elected.isoformat(), term_years=years, ends_on=ends.isoformat(),
              previous_ends_on=previous.ends_on.isoformat() if previous else None)
    return Reply(text=f"已登记{org.name}换届：{elected.isoformat()} 选举，任期{years}年，{ends.isoformat()} 届满。"
                      "上一届的换届提醒不再发送；新一届届满前6个月会再提醒。")


HANDLERS = (
    Handler(name="record_election", func=record_election, commands=("换届完成",),
            allowed=role_predicate("书记", "上级管理员"), roles_text="支部书记或上级管理员",
            summary="登记已完成的换届选举", example="换届完成 2026-11-20 任期3年", section="支部委员"),
)
