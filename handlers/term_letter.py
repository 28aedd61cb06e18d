"""生成换届提醒函 [组织]: the 换届提醒函 (.docx, the same as `zhibu remind letter`), sent to the asker alone.

A branch's 书记 / 组织委员 get their own branch's; a 上级管理员 any branch under them (they name it).
"""
from __future__ import annotations

from sqlalchemy import select

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.roles import RoleSet
from storage.models import Organization
from storage.orgs import branch_of, descendants
from storage.quoting import clip

OWN_ROLES = ("书记", "组织委员")
WHO = "支部书记、组织委员或上级管理员"


def may_ask(roles: RoleSet) -> bool:
    return roles.holds(*OWN_ROLES, "上级管理员")


def _under_admin(ctx: Context) -> dict[int, Organization]:
    out: dict[int, Organization] = {}
    for org_id in ctx.roles.orgs_where("上级管理员"):
        root = ctx.session.get(Organization, org_id)
        for o in (root, *descendants(ctx.session, root)):
            if o.type in ("党支部", "党总支"):
                out[o.id] = o
    return out


def _own(ctx: Context) -> Organization | None:
    if ctx.member.organization is None:
        return None
    branch = branch_of(ctx.member.organization)
    return branch if any(ctx.roles.holds(r, org_id=branch.id) for r in OWN_ROLES) else None


def letter(incoming: Incoming, ctx: Context) -> Reply:
    from reminders.letter import (  # python-docx: only for the letter
        LETTER_PURPOSE,
        LetterError,
        letter_facts,
        letter_filename,
    )

    name = ctx.args.strip()
    own, under = _own(ctx), _under_admin(ctx)
    if name:
        org = ctx.session.scalars(select(Organization).where(Organization.name == name)).first()
        if org is None:
            raise UserError(f"没有名为“{clip(name)}”的党组织。请写全称，例如：生成换届提醒函 第一党支部")
        if not ((own is not None and org.id == own.id) or org.id in under):
            raise UserError(f"你不能为{org.name}生成换届提醒函：书记、组织委员只能生成本支部的，"
                            "上级管理员可以生成所辖支部的。")
    elif own is not None:
        org = own
    else:
        names = "、".join(o.name for o in sorted(under.values(), key=lambda o: o.id)[:10])
        raise UserError(f"请写明为哪个支部生成，例如：生成换届提醒函 {names.split('、')[0] if names else '第一党支部'}"
                        + (f"（所辖：{names}）" if names else ""))
    try:
        facts = letter_facts(ctx.session, org, ctx.today)
    except LetterError as err:
        raise UserError(f"{err}。") from None
    filename = letter_filename(facts)
    ctx.audit("term_letter.export", org.name, on=ctx.today.isoformat())
    ref = ctx.file(LETTER_PURPOSE, {"org": org.id, "on": ctx.today.isoformat()}, filename)
    return Reply(text=f"正在生成{filename}（任期至{facts.ends_on.isoformat()}），稍后单独发给你。", file=ref,
                 private=True)


HANDLERS = (
    Handler(name="term_letter", func=letter, commands=("生成换届提醒函", "换届提醒函"), allowed=may_ask,
            roles_text=WHO, summary="生成换届提醒函（Word，A4 公文格式）", example="生成换届提醒函 第一党支部",
            section="支部委员"),
)
