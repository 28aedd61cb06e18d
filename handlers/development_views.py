"""发展党员 views: 发展进度 (one person), 发展情况 (a branch's pipeline; a 上级管理员's branches), 导出发展台账, and
我的入党进度 for the person in the pipeline — also when they are not in the roster yet (the router's guest hook).

The pipeline and 政审 conclusions are seen only by the branch's 书记 / 副书记 / 组织委员 and the 上级管理员 above it;
the person sees their own stage and next step, and nothing of anyone else.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.intent import normalize
from bot.roles import SECRETARY_ROLES, RoleSet
from handlers.development_text import attention, next_lines, own_lines, summary, timeline
from storage.development import find_by_account, find_named, record_of_member, records_in, to_record
from storage.development_rules import PIPELINE_STAGES, stage
from storage.models import DevelopmentRecord, Organization
from storage.orgs import branch_of, descendants
from storage.quoting import clip

VIEWERS = "支部书记、副书记、组织委员或上级管理员"
OWN_COMMANDS = ("我的入党进度", "入党进度", "我的发展进度")


def may_view(roles: RoleSet) -> bool:
    return roles.holds(*SECRETARY_ROLES, "上级管理员")


def scope(ctx: Context) -> tuple[list[Organization], bool]:
    """The branches whose pipeline the speaker may see, and whether they see them as a 上级管理员."""
    branches: dict[int, Organization] = {}
    for org_id in ctx.roles.orgs_where(*SECRETARY_ROLES):
        org = branch_of(ctx.session.get(Organization, org_id))
        branches[org.id] = org
    admin = ctx.roles.orgs_where("上级管理员")
    for org_id in admin:
        root = ctx.session.get(Organization, org_id)
        for o in (root, *descendants(ctx.session, root)):
            if o.type == "党支部":
                branches[o.id] = o
    if not branches:
        raise UserError("你没有查看发展党员情况的职务。")
    return sorted(branches.values(), key=lambda o: o.id), bool(admin)


# --- 发展进度 ---------------------------------------------------------------------------------------------------------
def progress(incoming: Incoming, ctx: Context) -> Reply:
    name = ctx.args.strip()
    if not name:
        raise UserError("请写上姓名，例如：发展进度 张三")
    branches, _ = scope(ctx)
    found = find_named(ctx.session, [o.id for o in branches], name)
    if not found:
        raise UserError(f"没有找到{clip(name)}的发展记录。发送「发展情况」看本支部的发展党员名单。")
    blocks = [_progress_block(row, ctx.today, with_branch=len(branches) > 1) for row in found]
    return Reply(text="\n\n".join(blocks), private=True)


def _progress_block(row: DevelopmentRecord, today: date, with_branch: bool) -> str:
    record = to_record(row)
    head = f"【{row.name}·{stage(record)}】{row.organization.name}"
    if summary(record, today):
        head += f"，{summary(record, today)}"
    if row.birth_on:
        head += f"；{row.birth_on.isoformat()}出生"
    lines = [head, *timeline(row, record, private=True)]
    late = [text for rank, _, text in sorted(attention(record, today)) if rank == 0]
    if late:
        lines += ["逾期：", *(f"· {t}" for t in late)]
    nxt = next_lines(record, today)
    if nxt:
        lines += ["下一步（还缺）：", *nxt]
    if row.member is not None and row.member.status == "active":
        lines.append(f"党员名单：{row.member.category}党员，入党日期{row.member.joined_on.isoformat()}"
                     + (f"，转正日期{row.member.full_member_on.isoformat()}" if row.member.full_member_on else ""))
    lines.append(f"登记下一环节：登记发展 {row.name} 环节 日期")
    return "\n".join(lines)


# --- 发展情况 ---------------------------------------------------------------------------------------------------------
def overview(incoming: Incoming, ctx: Context) -> Reply:
    branches, admin = scope(ctx)
    wanted = ctx.args.strip()
    if wanted:
        branches = [o for o in branches if o.name == wanted]
        if not branches:
            raise UserError(f"“{clip(wanted)}”不是你可以查看的党支部。")
    rows = records_in(ctx.session, [o.id for o in branches])
    if len(branches) == 1 and not (admin and not wanted):
        text = branch_report(branches[0], rows, ctx.today)
    else:
        text = upper_report(branches, rows, ctx.today)
    return Reply(text=text, private=True)


def _attention_items(rows: list[DevelopmentRecord], today: date, prefix: bool) -> list[str]:
    items = []
    for row in rows:
        record = to_record(row)
        for rank, day, text in attention(record, today):
            who = f"{row.organization.name} {row.name}" if prefix else row.name
            items.append((rank, day, f"· {who}（{stage(record)}）：{text}"))
    return [t for _, _, t in sorted(items)]


def branch_report(org: Organization, rows: list[DevelopmentRecord], today: date) -> str:
    by_stage: dict[str, list[tuple[DevelopmentRecord, object]]] = {}
    for row in rows:
        record = to_record(row)
        by_stage.setdefault(stage(record), []).append((row, record))
    counts = "，".join(f"{s} {len(by_stage.get(s, []))} 人" for s in PIPELINE_STAGES)
    lines = [f"{org.name}发展党员情况（截至{today.isoformat()}）：", counts + "。"]
    if not any(by_stage.get(s) for s in PIPELINE_STAGES):
        lines.append("目前没有在培养中的人。登记新的入党申请：登记发展 姓名 申请 日期")
        return "\n".join(lines)
    items = _attention_items([r for s in PIPELINE_STAGES for r, _ in by_stage.get(s, [])], today, prefix=False)
    lines += ["需要关注（逾期的在前）：", *items] if items else ["近30天没有到期的事项。"]
    lines.append("按阶段：")
    for s in PIPELINE_STAGES:
        people = by_stage.get(s, [])
        if people:
            lines.append(f"· {s}：" + "；".join(f"{row.name}（{summary(record, today)}）" for row, record in people))
    done = len(by_stage.get("已转正", []))
    if done:
        lines.append(f"已转正 {done} 人。")
    lines.append("发送「发展进度 姓名」看详情，「导出发展台账」导出 Excel。")
    return "\n".join(lines)


def upper_report(branches: list[Organization], rows: list[DevelopmentRecord], today: date) -> str:
    lines = [f"所辖 {len(branches)} 个党支部发展党员情况（截至{today.isoformat()}）："]
    by_branch: dict[int, list[DevelopmentRecord]] = {}
    for row in rows:
        by_branch.setdefault(row.organization_id, []).append(row)
    active = []
    for org in branches:
        mine = by_branch.get(org.id, [])
        stages = [stage(to_record(r)) for r in mine]
        if not any(s in PIPELINE_STAGES for s in stages):
            lines.append(f"· {org.name}：没有在培养中的人")
            continue
        late = sum(1 for r in mine for rank, _, _ in attention(to_record(r), today) if rank == 0)
        lines.append(f"· {org.name}：" + "，".join(f"{s}{stages.count(s)}" for s in PIPELINE_STAGES)
                     + (f"；逾期 {late} 项" if late else ""))
        active += [r for r in mine if stage(to_record(r)) in PIPELINE_STAGES]
    items = _attention_items(active, today, prefix=True)
    if items:
        lines += ["需要关注（逾期的在前）：", *items]
    lines.append("发送「发展情况 支部名称」看某个支部，「发展进度 姓名」看某人。")
    return "\n".join(lines)


# --- 导出发展台账 -----------------------------------------------------------------------------------------------------
def export(incoming: Incoming, ctx: Context) -> Reply:
    from storage.development_sheets import development_filename  # openpyxl: only for an export

    branches, _ = scope(ctx)
    count = len(records_in(ctx.session, [o.id for o in branches]))
    title = branches[0].name if len(branches) == 1 else f"所辖{len(branches)}个党支部"
    if count == 0:
        raise UserError(f"{title}还没有发展党员记录，没有台账可导出。")
    filename = development_filename(branches, ctx.today)
    ctx.audit("development.export", title, branches=[o.name for o in branches], people=count)
    ref = ctx.file("development", {"orgs": [o.id for o in branches], "on": ctx.today.isoformat()}, filename)
    return Reply(text=f"正在生成{filename}（{count} 人，每人一行，每个环节一列），稍后单独发给你。", private=True,
                 file=ref)


# --- 我的入党进度 -----------------------------------------------------------------------------------------------------
def own_text(row: DevelopmentRecord, today: date) -> str:
    record = to_record(row)
    lines = [f"{row.name}同志，你的入党进度（{row.organization.name}）：", *own_lines(record, today),
             "有疑问请联系支部书记或组织委员。"]
    return "\n".join(lines)


def mine(incoming: Incoming, ctx: Context) -> Reply:
    row = record_of_member(ctx.session, ctx.member)
    if row is None:
        return Reply(text="没有查到你的入党进度记录。想了解入党的程序，可以发送「发展党员流程」。", private=True)
    return Reply(text=own_text(row, ctx.today), private=True)


def guest(session: Session, incoming: Incoming, now: datetime) -> Reply | None:
    """A person in the pipeline who is not in the roster: 我的入党进度, and a hint for anything else."""
    row = find_by_account(session, incoming.platform, incoming.user_id)
    if row is None:
        return None
    if normalize(incoming.text or "").startswith(OWN_COMMANDS):
        return Reply(text=own_text(row, now.date()), private=True)
    return Reply(text=f"{row.name}同志，你好！你还不在党员名单中，现在可以发送「我的入党进度」查看自己的入党进度；"
                      "其他事项请联系支部书记或组织委员。", private=True)


SECTION = "支部委员"
HANDLERS = (
    Handler(name="development_mine", func=mine, commands=OWN_COMMANDS, summary="查看自己的入党进度（入党申请人、积极分子等）",
            example="我的入党进度"),
    Handler(name="development_progress", func=progress, commands=("发展进度",), allowed=may_view, roles_text=VIEWERS,
            summary="某人的发展党员进度：已完成、下一步和时限", example="发展进度 宋佳", section=SECTION),
    Handler(name="development_overview", func=overview, commands=("发展情况", "发展党员情况"), allowed=may_view,
            roles_text=VIEWERS, summary="本支部发展党员情况（逾期和快到期的在前）", example="发展情况", section=SECTION),
    Handler(name="development_export", func=export, commands=("导出发展台账", "发展台账"), allowed=may_view,
            roles_text=VIEWERS, summary="导出发展党员工作台账（Excel）", example="导出发展台账", section=SECTION),
)
