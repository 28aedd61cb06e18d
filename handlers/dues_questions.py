"""党费怎么算: the amount for a stated income (月收入6500, 退休金4800), and what counts in the base.

Answers come from the rules in `dues_calculator` (2008 规定 + 2017 通知). A figure the member typed is their own
income: in a group chat the answer goes to the private chat.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.core import Context, Handler, Incoming, Reply, UserError
from handlers.dues_calculator import (
    ALIASES,
    ANNUAL,
    BASE_CATEGORIES,
    FARMER,
    LOW_INCOME,
    NOTICE_2017,
    RETIRED,
    RULES_2008,
    STUDENT,
    UNEMPLOYED,
    WAGE,
    calculate,
    percent_text,
)
from handlers.dues_status import private_reply
from handlers.knowledge.entries import KnowledgeError
from handlers.knowledge.handler import answer_text, kb_of
from storage.org_settings import get_setting
from storage.orgs import branch_of

if TYPE_CHECKING:
    from handlers.amounts import Amount, Unclear

ASKING = ("交多少", "缴多少", "交纳多少", "缴纳多少", "怎么算", "如何算", "如何计算", "怎么计算", "多少党费", "算党费",
          "党费标准", "党费比例", "党费多少", "交几", "缴几", "要交", "该交", "得交", "应交")
# words that say a figure is the asker's pay (the figure then gets an amount whatever else the question says)
INCOME_WORDS = ("工资", "收入", "月薪", "薪水", "薪资", "薪酬", "退休金", "养老金", "退休费", "离休费", "年薪", "基数",
                "到手", "税后", "税前", "实发", "应发", "挣", "赚", "发了", "领")
# the period a figure is for: the nearest word before it decides
YEARLY = re.compile(r"年薪(?!制)|年收入|年工资|年入|一年|全年|每年|年终")
MONTHLY = re.compile(r"月薪|月收入|月工资|月入|每月|每个月|一个月|这个月|当月|本月|上个月|月")
AFTER_TAX = re.compile(r"(?:税后|到手|实发|实际到手|扣完|扣除后)\S{0,4}$")
BEFORE_TAX = re.compile(r"(?:税前|应发)\S{0,4}$")
THRESHOLD_AFTER = re.compile(r"^\s*(?:元|块)?\s*(?:以上|以下|以内|之间|之内|及以上|及以下|上下浮动)")
THRESHOLD_BEFORE = re.compile(r"(?:超过|高于|低于|不到|不足|不超过|大于|小于)\s*$")
PAID_SUM_BEFORE = re.compile(r"(?:交|缴|交纳|缴纳|多交|捐)(?:了|过)?\s*$")  # 想交一万元党费: a sum paid, not a pay
SURELY_MONTHLY_MAX = Decimal(100_000)  # a monthly pay above this is asked back: often a yearly figure
CATEGORY_ORDER = (RETIRED, ANNUAL, STUDENT, UNEMPLOYED, LOW_INCOME, FARMER)  # checked before the default 在职
FIXED = (STUDENT, UNEMPLOYED, LOW_INCOME, FARMER)

# what counts in the base: (words that raise the topic, answer lines)
BASE_TOPICS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("五险一金", "公积金", "社保", "养老保险", "医疗保险", "失业保险", "工伤保险", "生育保险", "年金"), (
        "五险一金不计入党费基数：养老、医疗、失业、工伤、生育保险和住房公积金，个人缴纳和单位缴纳的部分都不计入；"
        "职业年金、企业年金也不计入。",
        f"依据：{NOTICE_2017}第（二）项。")),
    (("个税", "个人所得税", "税前", "税后", "扣税"), (
        "党费基数按税后计算：个人所得税不计入基数。",
        f"依据：{RULES_2008}第一条；{NOTICE_2017}第（二）项。")),
    (("年终奖", "奖金", "绩效", "年终", "13薪", "十三薪", "双薪"), (
        "事业单位：基础性绩效工资计入基数，奖励性绩效工资不计入。",
        "企业：基本工资、岗位工资等固定部分计入；不固定、非普遍发放的奖金和绩效（如一次性的年终奖）不计入。",
        "年薪制党员按当月实际领取的薪酬计算；年终发放月算出来超过 1000 元的，有的单位按 1000 元交纳，"
        "自愿多交不限，以本单位规定为准。",
        f"依据：{RULES_2008}第一条、第三条；{NOTICE_2017}第（一）（三）项。")),
    (("补贴", "津贴", "补助", "加班费", "取暖费", "防暑降温", "物业费", "交通补", "通讯补", "住房补", "餐补", "误餐", "车补",
      "饭补", "话补", "房补"), (
        "规范的津贴补贴计入基数（机关的津贴补贴、事业单位的津贴补贴等）。",
        "改革性补贴不计入：住房、交通、公务用车、通讯、加班、误餐补贴，取暖费、防暑降温费、物业费等；"
        "只发给少数地区、单位、岗位或人员的津贴补贴也不计入。",
        f"依据：{RULES_2008}第一条；{NOTICE_2017}第（二）项。")),
    (("退休金", "养老金", "离退休费", "退休费"), (
        "离退休党员以基本离退休费或基本养老金为基数，不含各类津贴补贴；5000 元以下（含）交 0.5%，"
        "5000 元以上交 1%。",
        f"依据：{RULES_2008}第五条；{NOTICE_2017}。")),
)
BASE_WORDS = ("基数", "算不算", "计不计", "算进", "计入", "包括", "包含", "要交党费吗", "交党费吗", "算党费吗", "扣党费")


def _category(text: str) -> str:
    for category in CATEGORY_ORDER:
        if any(word in text for word in ALIASES[category]):
            return category
    return WAGE


@dataclass(frozen=True)
class Figure:
    """What a question says about the asker's pay."""

    amount: Amount | None  # the one figure to compute on
    problem: str | None  # why it cannot be computed as it stands (the reply asks instead)
    yearly: bool = False  # a yearly figure (年薪20万)
    pre_tax: bool = False  # said to be before tax


def _figures(text: str) -> list[Amount | Unclear]:
    """The sums in a question, without thresholds of a rule (5000以上, 超过1万)."""
    from handlers.amounts import read_amounts

    return [a for a in read_amounts(text)
            if not THRESHOLD_AFTER.match(text[a.end:]) and not THRESHOLD_BEFORE.search(text[:a.start])
            and not PAID_SUM_BEFORE.search(text[:a.start])]


def _has_threshold(text: str) -> bool:
    from handlers.amounts import read_amounts

    return len(_figures(text)) < len(read_amounts(text))


def _period_yearly(text: str, start: int) -> bool:
    before = text[:start]
    y = [m.end() for m in YEARLY.finditer(before)]
    mo = [m.end() for m in MONTHLY.finditer(before)]
    return bool(y) and (not mo or max(y) > max(mo))


def read_figure(text: str) -> Figure | None:
    """The figure a question gives for the asker's pay, or None when it gives none."""
    from handlers.amounts import RANGE, Amount, Unclear, yuan_text

    found = _figures(text)
    if not found:
        return None
    unclear = [f for f in found if isinstance(f, Unclear)]
    if unclear:
        u = unclear[0]
        why = u.reason if u.reason != RANGE else f"“{u.text}”是一个范围"
        return Figure(None, why)
    amounts: list[Amount] = [f for f in found if isinstance(f, Amount)]
    if len({a.value for a in amounts}) > 1:
        after_tax = [a for a in amounts if AFTER_TAX.search(text[max(0, a.start - 8):a.start])]
        if len({a.value for a in after_tax}) != 1:
            shown = "、".join(f"{yuan_text(a.value)} 元" for a in amounts)
            return Figure(None, f"消息里有 {len(amounts)} 个金额（{shown}），不知道按哪个算")
        amounts = after_tax
    amount = amounts[0]
    yearly = _period_yearly(text, amount.start)
    pre_tax = bool(BEFORE_TAX.search(text[max(0, amount.start - 8):amount.start]))
    if not yearly and amount.value > SURELY_MONTHLY_MAX and not MONTHLY.search(text[:amount.start]):
        return Figure(None, f"“{amount.text}”作为月收入偏高，是年薪吗")
    return Figure(amount, None, yearly, pre_tax)


def _base_topic(text: str) -> tuple[str, ...] | None:
    for words, answer in BASE_TOPICS:
        if any(w in text for w in words):
            return answer
    return None


def _is_base_question(text: str) -> bool:
    """Whether something counts in the base (年终奖算不算党费基数), even when a figure comes with it."""
    if not ("党费" in text or "基数" in text):
        return False
    topic = _base_topic(text)
    if topic is None and "基数" not in text:
        return False
    return not _figures(text) or any(w in text for w in BASE_WORDS)


def _is_amount_question(text: str, words: list[str]) -> bool:
    """A question that carries a figure for the asker's pay (月收入2万5交多少党费, 月薪一万二, 工资 8k), or names a
    category with a fixed amount (学生党员交多少党费)."""
    if _is_base_question(text):
        return False
    figures = _figures(text)
    if not figures:
        return "党费" in text and _category(text) in FIXED and not _has_threshold(text)
    if "党费" in text or any(a in text for a in ASKING):
        return True
    # a bare figure with a word for pay: 月薪一万二, 工资 8k, 退休金4800 (short, so 工资8000的人能入党吗 is not)
    rest = text
    for f in figures:
        rest = rest.replace(f.text, "")
    return any(w in text for w in INCOME_WORDS) and len(re.sub(r"[\s,.，。？?！!元块钱]", "", rest)) <= 8


def _is_general_question(text: str, words: list[str]) -> bool:
    return "党费" in text and any(a in text for a in ASKING) and not _figures(text)


def situation_reply(text: str, ctx: Context) -> Reply | None:
    """A question without a figure that names a circumstance the knowledge base has an entry for (返聘, 停薪留职, 没有收入,
    夫妻都是党员): that entry answers, not the general rates. Which circumstances is the entries' own `situations`."""
    if _figures(text):
        return None
    try:
        kb = kb_of(ctx)
    except KnowledgeError:  # broken entry files: the rates still answer
        return None
    entry = kb.situation(text)
    return Reply(text=answer_text(kb, entry)) if entry is not None else None


def amount_answer(incoming: Incoming, ctx: Context) -> Reply:
    from handlers.amounts import yuan_text

    text = ctx.args or incoming.text
    situation = situation_reply(text, ctx)
    if situation is not None:
        return situation
    category = _category(text)
    figure = read_figure(text)
    if category in BASE_CATEGORIES and figure is not None and figure.amount is None:
        return private_reply(ctx, ask_back(figure), "党费计算")
    base = figure.amount.value if figure is not None and figure.amount is not None else None
    if category in BASE_CATEGORIES and base is not None and figure.yearly:
        return private_reply(ctx, yearly_answer(ctx, base), "党费计算结果")
    org = branch_of(ctx.member.organization)
    try:
        result = calculate(category, base if category in BASE_CATEGORIES else None,
                           rounding=get_setting(org, "dues_rounding"),
                           farmer_yuan=Decimal(str(get_setting(org, "farmer_dues"))))
    except ValueError as err:
        raise UserError(f"{err}。例如：党费怎么算 月收入6500") from None
    if result.rate is None:
        lines = [f"{result.category}党员：每月交纳党费 {result.yuan} 元（{result.bracket}）。"]
    else:
        label = {WAGE: "月收入", ANNUAL: "当月薪酬", RETIRED: "基本离退休费"}.get(result.category, "月平均纯收入")
        lines = [f"{label} {yuan_text(result.base)} 元（{result.category}）：每月交纳党费 {result.yuan} 元。",
                 f"档次：{result.bracket}，按 {percent_text(result.rate)} 交纳（比例适用于全部基数，不分段累进）。"]
        if result.uncapped_fen is None and result.monthly_fen != _exact_fen(result):
            lines.append(f"按比例为 {result.base * result.rate:f} 元，已按本支部的取整方式取到分。")
        if figure is not None and figure.pre_tax:
            lines.append("你给的是税前收入：基数按税后计算，还要扣除五险一金等，实际金额会低一些。")
    lines.extend(result.notes)
    lines.append(f"依据：{result.basis}。")
    lines.append("实际金额以支部每年年初核定的为准；发送「我的党费」查看本人核定的金额和交纳情况。")
    reply_text = "\n".join(lines)
    if base is not None:
        return private_reply(ctx, reply_text, "党费计算结果")
    return Reply(text=reply_text)


def ask_back(figure: Figure) -> str:
    """A figure that cannot be read with confidence: say why and how to write it; compute nothing."""
    if "年薪" in (figure.problem or ""):
        return (f"{figure.problem}？\n是年薪请发送：年薪20万交多少党费；是月收入请写明“月收入”，"
                "例如：党费怎么算 月收入200000。")
    return (f"没能准确读出你的收入：{figure.problem}。党费要按一个确切的月收入计算，没有替你估算。\n"
            "请写一个数再问，例如：党费怎么算 月收入6500（也可以写 6500元、6.5千、1.2万、一万二）。")


def yearly_answer(ctx: Context, yearly: Decimal) -> str:
    """年薪: the base is what is actually paid in the month (年薪制); the monthly average is the usual case."""
    from handlers.amounts import yuan_text

    org = branch_of(ctx.member.organization)
    average = (yearly / 12).quantize(Decimal("0.01"))
    result = calculate(ANNUAL, average, rounding=get_setting(org, "dues_rounding"))
    lines = [f"年薪 {yuan_text(yearly)} 元：年薪制党员不按年薪总额算，而是以当月实际领取的薪酬为基数，按在职党员的比例交纳。",
             f"通常情况（每月领取年薪的十二分之一，约 {yuan_text(average)} 元）：每月交纳党费 {result.yuan} 元"
             f"（{result.bracket}，{percent_text(result.rate)}）。",
             "当月实际领取的多或少（如发放绩效年薪的月份），就按当月实际领取的数计算；算出来超过 1000 元的，"
             "一般按 1000 元交纳，自愿多交不限，以本单位规定为准。",
             f"依据：{RULES_2008}第三条；{NOTICE_2017}。",
             "某个月的具体金额请发送：年薪制 这个月发了2万 交多少党费。"]
    return "\n".join(lines)


def _exact_fen(result) -> Decimal:
    return result.base * result.rate * 100


def base_answer(incoming: Incoming, ctx: Context) -> Reply:
    situation = situation_reply(ctx.args or incoming.text, ctx)
    if situation is not None:  # 返聘工资算不算基数, 爱人的工资算不算进我的基数: the situation's entry says it
        return situation
    topic = _base_topic(ctx.args)
    lines = list(topic) if topic else [
        "党费基数为工资总额中相对固定、经常性的部分，按税后计算。",
        "计入：机关的职务工资、级别工资、津贴补贴；事业单位的岗位工资、薪级工资、基础性绩效工资、津贴补贴；"
        "企业的基本工资、岗位工资等固定部分。",
        "不计入：个人所得税，五险一金（个人和单位部分），职业年金、企业年金，改革性补贴，"
        "奖励性绩效和不固定、非普遍发放的奖金。",
        "离退休党员以基本离退休费或基本养老金为基数。",
        f"依据：{RULES_2008}第一条；{NOTICE_2017}第（二）（三）项。",
    ]
    lines.append("算具体金额请发送：党费怎么算 月收入6500")
    return Reply(text="\n".join(lines))


def general_answer(incoming: Incoming, ctx: Context) -> Reply:
    situation = situation_reply(ctx.args or incoming.text, ctx)
    if situation is not None:
        return situation
    org = branch_of(ctx.member.organization)
    farmer = Decimal(str(get_setting(org, "farmer_dues")))
    lines = [
        "党费按月交纳，比例适用于全部基数（不分段累进），每档含上限：",
        "· 在职：3000元以下 0.5%；3000–5000元 1%；5000–10000元 1.5%；10000元以上 2%",
        "· 离退休：5000元以下 0.5%；5000元以上 1%（基数为基本离退休费或基本养老金）",
        "· 年薪制：以当月实际薪酬为基数，比例同在职；无固定收入的以上一季度月平均纯收入为基数",
        "· 学生、下岗失业、领取低保或依靠抚恤救济生活的：每月 0.20 元",
        f"· 农民党员：每月 0.2–1 元（本支部设为 {farmer:.2f} 元）",
        "· 每月一般不超过 1000 元，自愿多交不限；预备党员从支部大会通过之月起交纳。",
        f"依据：{RULES_2008}第二至八条；{NOTICE_2017}。",
        "算具体金额请发送：党费怎么算 月收入6500，或 退休金4800交多少。",
    ]
    return Reply(text="\n".join(lines))


HANDLERS = (
    Handler(name="dues_base_question", func=base_answer, match=lambda text, words: _is_base_question(text),
            summary="哪些收入计入党费基数", example="年终奖算不算党费基数"),
    Handler(name="dues_amount_question", func=amount_answer, match=_is_amount_question,
            summary="按收入算每月党费", example="党费怎么算 月收入6500"),
    Handler(name="dues_general_question", func=general_answer, match=_is_general_question),
)
