"""The dues keeper's ledger: 设置党费 (the annual fixing), 登记党费 (a payment), 未交党费, 导出党费.

For the branch's 书记 / 组织委员 / 党费管理员 only, and only for their own branch. Every write is audited; a name
two members share is resolved by asking which one.
"""
from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import select

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.roles import DUES_ROLES
from handlers.common import managed_org
from handlers.dues_calculator import (
    BASE_CATEGORIES,
    CAP_FEN,
    calculate,
    category_of,
    fen_to_yuan,
    parse_yuan,
    percent_text,
)
from handlers.dues_people import ask_which, pick, resolve_member_by_name
from handlers.dues_status import KEEPERS, is_dues_role, private_reply, span_text
from storage.dues import (
    ESCALATE_MONTHS,
    arrears_signals,
    branch_members,
    check_payment,
    month_key,
    months_between,
    paid_months,
    parse_months,
    previous_month,
    rates_for,
    record_payments,
    tracking_starts,
)
from storage.models import DuesRate, Member, Organization
from storage.org_settings import get_setting
from storage.orgs import branch_of

PICK_KIND = "dues_ledger_pick"
CONFIRM_KIND = "dues_rate_confirm"  # 设置党费 above ¥1,000 a month waits for a 1 (confirm) or 2 (cancel)
# 未交党费 as a command (the whole message), so that 欠交党费会怎样 stays a question about the rule
UNPAID_RE = re.compile(r"\s*(?:(?:未交|欠交|欠缴|未缴|没交)党费|党费(?:未交|欠交|欠缴|未缴))(?:名单|情况|的人|人员)?\s*[?？。!！]?\s*|"
                       r"\s*(?:谁|哪些人|有谁)还?(?:没|未)(?:交|缴)党费[?？]?\s*")
YEAR_RE = re.compile(r"(\d{4})年")
MAX_MONTHS = 12


def _split_name(ctx: Context, usage: str) -> tuple[str, str]:
    parts = ctx.args.split(maxsplit=1)
    if len(parts) < 2:
        raise UserError(f"请写成：{usage}")
    return parts[0], parts[1].strip()


def _with_member(ctx: Context, action: str, usage: str) -> Reply:
    name, rest = _split_name(ctx, usage)
    org = managed_org(ctx, DUES_ROLES)
    if rest and (joined := _join_split_names(ctx, org, [name, rest.split()[0]]))[0] != name:
        name, rest = joined[0], rest.partition(" ")[2].strip()  # 设置党费 钱 进 60: the name typed with a space
    found = resolve_member_by_name(ctx, name, org)
    if isinstance(found, list):
        return ask_which(ctx, PICK_KIND, found, {"action": action, "rest": rest}, f"{ACTIONS[action][1]}：{org.name}")
    return ACTIONS[action][0](ctx, org, found, rest)


def resume(incoming: Incoming, ctx: Context, payload: dict) -> Reply:
    member = pick(ctx, payload)
    org = managed_org(ctx, DUES_ROLES)
    if branch_of(member.organization).id != org.id:
        raise UserError("这名党员已不在本支部。原操作已取消。")
    action = ACTIONS.get(payload.get("action", ""))
    if action is None:
        raise UserError("原操作已失效，请重新发送。")
    return action[0](ctx, org, member, payload.get("rest", ""))


# 设置党费 ---------------------------------------------------------------------------------------------------

RATE_USAGE = "设置党费 张三 62.50（每月金额），或 设置党费 张三 在职 6500（按类别和基数计算）；下一年加“2027年”"


def set_rate(ctx: Context, org: Organization, member: Member, rest: str, confirmed: bool = False) -> Reply:
    tokens = rest.split()
    year = ctx.today.year
    if tokens and (m := YEAR_RE.fullmatch(tokens[-1])):
        year = int(m.group(1))
        tokens = tokens[:-1]
    if not ctx.today.year - 1 <= year <= ctx.today.year + 1:
        raise UserError(f"只能核定 {ctx.today.year - 1} 至 {ctx.today.year + 1} 年的党费。")
    category, base_fen, notes = "核定", None, []
    try:
        if len(tokens) == 1 and category_of(tokens[0]) is None:
            amount = parse_yuan(tokens[0])
            if amount != amount.quantize(Decimal("0.01")):
                raise ValueError("金额最多两位小数（到分）")
            fen = int(amount * 100)
        elif tokens and category_of(tokens[0]) is not None and len(tokens) <= 2:
            category = category_of(tokens[0])
            if category in BASE_CATEGORIES and len(tokens) != 2:
                raise ValueError(f"{category}党员请写上基数，例如：设置党费 {member.name} {category} 6500")
            result = calculate(category, tokens[1] if len(tokens) == 2 else None,
                               rounding=get_setting(org, "dues_rounding"),
                               farmer_yuan=Decimal(str(get_setting(org, "farmer_dues"))))
            fen = result.monthly_fen
            if result.base is not None:
                base_fen = int(result.base.quantize(Decimal("0.01")) * 100)
                notes.append(f"按{category}、基数 {result.base} 元、{result.bracket}、{percent_text(result.rate)}计算。")
            notes.extend(n for n in result.notes if "1000" in n)
        else:
            raise ValueError(f"请写成：{RATE_USAGE}")
    except ValueError as err:
        raise UserError(f"未设置：{err}") from None
    if fen == 0:
        notes.append("按 0 元登记：少交或免交须经支部研究、报上级党委批准（党费规定第七条）。")
    elif fen > CAP_FEN:
        if not confirmed:
            ctx.set_pending(CONFIRM_KIND, {"member_id": member.id, "rest": rest})
            return private_reply(ctx, "\n".join([
                f"{member.name}{year}年每月党费 {fen_to_yuan(fen)} 元，超过 1000 元：每月党费一般不超过 1000 元，"
                "超出部分属本人自愿多交（组电明字〔2017〕5号）。",
                "确认按这个金额核定请回复 1，取消请回复 2（10 分钟内有效；金额写错了就重新发送设置党费）。"]), "核定确认")
        notes.append("超过 1000 元：每月党费一般不超过 1000 元，超出部分已按本人自愿多交核定。")

    rate = ctx.session.scalars(select(DuesRate).where(DuesRate.member_id == member.id,
                                                      DuesRate.year == year)).first()
    old = rate.monthly_fen if rate else None
    if rate is None:
        rate = DuesRate(member_id=member.id, year=year)
        ctx.session.add(rate)
    rate.base_category, rate.base_fen, rate.monthly_fen = category, base_fen, fen
    rate.set_by_id, rate.set_at = ctx.member.id, ctx.now
    ctx.audit("dues.rate", member.name, member_id=member.id, year=year, old_fen=old, new_fen=fen,
              category=category)
    head = (f"已核定{member.name}{year}年每月党费 {fen_to_yuan(fen)} 元" +
            (f"（原为 {fen_to_yuan(old)} 元）" if old is not None and old != fen else "") + "。")
    return private_reply(ctx, "\n".join([head, *notes, "年内一般不再调整；已交月份的金额不变。"]), "核定结果")


def confirm_rate(incoming: Incoming, ctx: Context, payload: dict) -> Reply:
    """The answer to “超过 1000 元，确认请回复 1”."""
    if payload.get("choice") != 1:
        return Reply(text="已取消，没有核定。需要时请重新发送：设置党费 姓名 金额。", private=True)
    org = managed_org(ctx, DUES_ROLES)
    member = ctx.session.get(Member, payload.get("member_id"))
    if member is None or member.status != "active" or branch_of(member.organization).id != org.id:
        raise UserError("这名党员已不在本支部。原操作已取消。")
    return set_rate(ctx, org, member, payload.get("rest", ""), confirmed=True)


# 登记党费 ---------------------------------------------------------------------------------------------------

PAY_USAGE = ("登记党费 张三 2026-11、登记党费 张三 12月、登记党费 张三 6月到12月，"
             "几个人一起：登记党费 张三、李四 12月（可在最后写每月金额）")
NAME_SEPARATORS = re.compile(r"[、,，;；/]+")


def _split_pay(rest: str, today) -> tuple[list[str], Decimal | None]:
    """'2026-09至2026-11 62.5' → (months, amount). The amount is a last word that is not a month."""
    tokens = rest.split()
    amount = None
    if len(tokens) >= 2:
        try:
            parse_months(tokens[-1], today)
        except ValueError:
            try:
                amount = parse_yuan(tokens[-1])
                tokens = tokens[:-1]
            except ValueError:
                pass
    try:
        return parse_months(" ".join(tokens), today), amount
    except ValueError as err:
        raise UserError(f"未登记：{err}。请写成：{PAY_USAGE}") from None


def _split_names_months(ctx: Context, org: Organization) -> tuple[list[str], str]:
    """'张三、李四 6月到12月 62.5' → (['张三', '李四'], '6月到12月 62.5'): the names are the words before the first
    word that starts the months. A name typed with a space inside (钱 进) is joined when that is the member's name."""
    tokens = ctx.args.split()
    first_error: UserError | None = None
    for i in range(1, len(tokens)):
        rest = " ".join(tokens[i:])
        try:
            _split_pay(rest, ctx.today)
        except UserError as err:
            first_error = first_error or err  # what was wrong with the months, if the first word is the name
            continue
        names = [n for t in tokens[:i] for n in NAME_SEPARATORS.split(t) if n]
        if names:
            return _join_split_names(ctx, org, names), rest
    raise first_error or UserError(f"请写成：{PAY_USAGE}")


def _join_split_names(ctx: Context, org: Organization, names: list[str]) -> list[str]:
    from storage.names import normalize_name

    known = {normalize_name(m.name) for m in branch_members(ctx.session, org)}
    out: list[str] = []
    i = 0
    while i < len(names):
        if normalize_name(names[i]) not in known and i + 1 < len(names) \
                and normalize_name(names[i] + names[i + 1]) in known:
            out.append(names[i] + names[i + 1])
            i += 2
        else:
            out.append(names[i])
            i += 1
    return out


def record_payment(ctx: Context, org: Organization, member: Member, rest: str) -> Reply:
    return private_reply(ctx, "\n".join(_record(ctx, member, rest)), "登记结果")


def _record(ctx: Context, member: Member, rest: str) -> list[str]:
    months, amount = _split_pay(rest, ctx.today)
    if len(months) > MAX_MONTHS:
        raise UserError(f"未登记：一次最多登记 {MAX_MONTHS} 个月。")
    if amount is not None and (amount <= 0 or amount != amount.quantize(Decimal("0.01"))):
        raise UserError("未登记：每月金额须大于 0，最多两位小数。")
    paid = paid_months(ctx.session, [member.id]).get(member.id, set())
    check = check_payment(months, month_key(ctx.today), member.joined_on, paid)
    if check.errors:
        raise UserError(f"未登记{member.name}的党费：" + "；".join(check.errors) + "。")
    rates = rates_for(ctx.session, [member.id], {int(m[:4]) for m in months})
    if amount is None:
        missing = sorted({int(m[:4]) for m in months} - {y for _, y in rates})
        if missing:
            year = missing[0]
            raise UserError(f"未登记：还没有核定{member.name}{year}年的党费。请先发送：设置党费 {member.name} 金额"
                            + ("" if year == ctx.today.year else f" {year}年") + "，或在命令最后写上每月金额。")
    amounts = [(m, int(amount * 100) if amount is not None else rates[(member.id, int(m[:4]))].monthly_fen)
               for m in months]
    record_payments(ctx.session, member, amounts, ctx.today, ctx.member, source="manual")
    total = sum(a for _, a in amounts)
    ctx.audit("dues.pay", member.name, member_id=member.id, months=months,
              amounts_fen=[a for _, a in amounts], late=check.late)
    lines = [f"已登记{member.name} {span_text(months)} 党费 {len(months)} 个月，共 {fen_to_yuan(total)} 元。"]
    if amount is not None:
        fixed = [rates[(member.id, int(m[:4]))].monthly_fen for m in months if (member.id, int(m[:4])) in rates]
        if fixed and int(amount * 100) > max(fixed):
            lines.append("高于核定的月交纳额，多出部分按本人自愿多交记录。")
        elif fixed and int(amount * 100) < min(fixed):
            lines.append("低于核定的月交纳额，请核对；少交须经批准。")
    if check.late:
        lines.append(f"注意：{span_text(check.late)} 的补交已超过 6 个月（党费规定第十二条：补交一般不超过 6 个月），"
                     "已登记并在审计记录中标注，请支部研究。")
    return lines


def pay_cmd(incoming: Incoming, ctx: Context) -> Reply:
    """登记党费 for one member (a shared name is asked back) or several at once (all or nothing)."""
    from storage.names import normalize_name

    org = managed_org(ctx, DUES_ROLES)
    names, rest = _split_names_months(ctx, org)
    if len(names) == 1:
        found = resolve_member_by_name(ctx, names[0], org)
        if isinstance(found, list):
            return ask_which(ctx, PICK_KIND, found, {"action": "pay", "rest": rest}, f"登记党费：{org.name}")
        return record_payment(ctx, org, found, rest)
    if len(set(map(normalize_name, names))) != len(names):
        raise UserError("未登记：名单里有重复的姓名，请核对。")
    members: list[Member] = []
    for name in names:
        found = resolve_member_by_name(ctx, name, org)
        if isinstance(found, list):
            raise UserError(f"未登记：{org.name}有 {len(found)} 位党员叫“{name}”，请把{name}单独登记："
                            f"登记党费 {name} {rest}")
        members.append(found)
    lines = [line for m in members for line in _record(ctx, m, rest)]
    if len(members) > 1:
        lines.insert(0, f"已为 {len(members)} 名党员登记党费：")
    return private_reply(ctx, "\n".join(lines), "登记结果")


ACTIONS = {"rate": (set_rate, "设置党费"), "pay": (record_payment, "登记党费")}


def set_rate_cmd(incoming: Incoming, ctx: Context) -> Reply:
    return _with_member(ctx, "rate", RATE_USAGE)


# 未交党费 ---------------------------------------------------------------------------------------------------


def unpaid(incoming: Incoming, ctx: Context) -> Reply:
    org = managed_org(ctx, DUES_ROLES)
    today, year = ctx.today, ctx.today.year
    last, current = previous_month(today), month_key(today)
    members = branch_members(ctx.session, org)
    starts = tracking_starts(ctx.session, members)
    paid = paid_months(ctx.session, [m.id for m in members])
    rates = rates_for(ctx.session, [m.id for m in members], [year])
    signals = {s.member_id: s for s in arrears_signals(ctx.session, org, last,
                                                       alert_at=get_setting(org, "dues_alert_months"))}
    lines = [f"{org.name}{year}年党费未交情况（截至 {last}）："]
    owing, this_month, unfixed = 0, [], []
    for m in members:
        if (m.id, year) not in rates:
            unfixed.append(m.name)
        start = starts.get(m.id)
        if start is None:
            continue
        first = max(month_key(start), f"{year:04d}-01")
        missing = [x for x in months_between(first, last) if x not in paid.get(m.id, set())]
        if current >= month_key(start) and current not in paid.get(m.id, set()):
            this_month.append(m.name)
        if not missing:
            continue
        owing += 1
        line = f"· {m.name}：{span_text(missing)}（{len(missing)} 个月"
        if (m.id, year) in rates:
            line += f"，{fen_to_yuan(len(missing) * rates[(m.id, year)].monthly_fen)} 元"
        line += "）"
        sig = signals.get(m.id)
        if sig is not None:
            line += f"，已连续 {sig.count} 个月未交" + ("，请支部研究处理" if sig.level == "escalate" else "，请提醒本人")
        lines.append(line)
    if owing == 0:
        lines.append("本年截至上月无人欠交。")
    lines.append(f"本月（{current}）尚未登记：{len(this_month)} 人" + (f"（{'、'.join(this_month)}）"
                                                                  if 0 < len(this_month) <= 10 else ""))
    if unfixed:
        lines.append(f"尚未核定{year}年党费：{'、'.join(unfixed)}（设置党费 姓名 金额）")
    if any(s.count >= ESCALATE_MONTHS for s in signals.values()):
        lines.append("连续 6 个月未交的，是否有正当理由由支部研究认定，系统不作结论。")
    lines.append("登记请发送：登记党费 姓名 2026-09至2026-11")
    return private_reply(ctx, "\n".join(lines), "未交党费名单")


# 导出党费 ---------------------------------------------------------------------------------------------------


def export(incoming: Incoming, ctx: Context) -> Reply:
    from storage.dues_export import dues_filename  # openpyxl: only for an export

    org = managed_org(ctx, DUES_ROLES)
    arg = ctx.args.strip().removesuffix("年")
    year = ctx.today.year if not arg else int(arg) if re.fullmatch(r"\d{4}", arg) else None
    if year is None or not 2000 <= year <= ctx.today.year + 1:
        raise UserError("请写成：导出党费 2026")
    members = branch_members(ctx.session, org)
    ids = [m.id for m in members]
    if not members or not (rates_for(ctx.session, ids, [year]) or any(
            month.startswith(f"{year:04d}-") for months in paid_months(ctx.session, ids).values() for month in months)):
        raise UserError(f"{org.name}{year}年还没有核定或登记过党费，没有登记簿可导出。"
                        "请先发送「设置党费 姓名 金额」或「登记党费 姓名 月份」。")
    filename = dues_filename(org, year)
    ctx.audit("dues.export", org.name, year=year)
    reply = private_reply(ctx, f"正在生成{filename}（党员 × 月份，含合计），稍后单独发给你。", "党费收缴登记簿")
    return replace(reply, file=ctx.file("dues", {"org": org.id, "year": year, "on": ctx.today.isoformat()}, filename))


SECTION = "党费管理员"
HANDLERS = (
    Handler(name="dues_set_rate", func=set_rate_cmd, commands=("设置党费", "核定党费"), allowed=is_dues_role,
            roles_text=KEEPERS, summary="核定党员本年每月党费（记入审计）", example="设置党费 张伟 62.50",
            section=SECTION),
    Handler(name="dues_pay", func=pay_cmd, commands=("登记党费", "党费登记"), allowed=is_dues_role,
            roles_text=KEEPERS, summary="登记党员交纳的党费", example="登记党费 郑强 9月到11月", section=SECTION),
    Handler(name="dues_unpaid", func=unpaid, commands=("未交党费",), match=lambda text, words: bool(UNPAID_RE.fullmatch(text)),
            allowed=is_dues_role, roles_text=KEEPERS, summary="本支部谁还欠交哪几个月", example="未交党费",
            section=SECTION),
    Handler(name="dues_export", func=export, commands=("导出党费",), allowed=is_dues_role, roles_text=KEEPERS,
            summary="导出党费收缴登记簿 .xlsx", example="导出党费 2026", section=SECTION),
)

PENDING = {PICK_KIND: resume, CONFIRM_KIND: confirm_rate}
