"""党费怎么算: the amount for a stated income (月收入6500, 退休金4800), and what counts in the base.

Answers come from the rules in `dues_calculator` (2008 规定 + 2017 通知). A figure the member typed is their own
income: in a group chat the answer goes to the private chat.
"""
from __future__ import annotations

import re
from decimal import Decimal

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
from storage.org_settings import get_setting
from storage.orgs import branch_of

# an amount, not a date or a month (2026年, 2026-11, 11月) nor a percentage
NUMBER = re.compile(r"(?<![\d\-/.])(\d+(?:,\d{3})*(?:\.\d+)?)\s*(万|千)?(?![\d年月日号个%％\-/])")
ASKING = ("交多少", "缴多少", "交纳多少", "缴纳多少", "怎么算", "如何算", "如何计算", "怎么计算", "多少党费", "算党费",
          "党费标准", "党费比例", "党费多少")
INCOME_WORDS = ("工资", "收入", "月薪", "薪水", "退休金", "养老金", "退休费", "离休费", "年薪", "基数")
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
    (("补贴", "津贴", "补助", "加班费", "取暖费", "防暑降温", "物业费", "交通补", "通讯补", "住房补", "餐补", "误餐"), (
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


def _income(text: str) -> Decimal | None:
    for m in NUMBER.finditer(text):
        value = Decimal(m.group(1).replace(",", ""))
        if m.group(2) == "万":
            value *= 10000
        elif m.group(2) == "千":
            value *= 1000
        return value
    return None


def _base_topic(text: str) -> tuple[str, ...] | None:
    for words, answer in BASE_TOPICS:
        if any(w in text for w in words):
            return answer
    return None


def _is_base_question(text: str) -> bool:
    if not ("党费" in text or "基数" in text):
        return False
    topic = _base_topic(text)
    if topic is None:
        return "基数" in text and _income(text) is None
    # 退休金4800交多少 is an amount question, 退休金算不算基数 a base one
    return _income(text) is None or not any(w in text for w in INCOME_WORDS)


def _is_amount_question(text: str, words: list[str]) -> bool:
    if _is_base_question(text):
        return False
    asking = any(a in text for a in ASKING) or "党费" in text
    if not asking:
        return False
    if _income(text) is not None:
        return True
    return "党费" in text and _category(text) in FIXED


def _is_general_question(text: str, words: list[str]) -> bool:
    return "党费" in text and any(a in text for a in ASKING) and _income(text) is None


def amount_answer(incoming: Incoming, ctx: Context) -> Reply:
    text = ctx.args
    category = _category(text)
    base = _income(text)
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
        lines = [f"{label} {result.base:f} 元（{result.category}）：每月交纳党费 {result.yuan} 元。",
                 f"档次：{result.bracket}，按 {percent_text(result.rate)} 交纳（比例适用于全部基数，不分段累进）。"]
        if result.uncapped_fen is None and result.monthly_fen != _exact_fen(result):
            lines.append(f"按比例为 {result.base * result.rate:f} 元，已按本支部的取整方式取到分。")
    lines.extend(result.notes)
    lines.append(f"依据：{result.basis}。")
    lines.append("实际金额以支部每年年初核定的为准；发送「我的党费」查看本人核定的金额和交纳情况。")
    reply_text = "\n".join(lines)
    if base is not None:
        return private_reply(ctx, reply_text, "党费计算结果")
    return Reply(text=reply_text)


def _exact_fen(result) -> Decimal:
    return result.base * result.rate * 100


def base_answer(incoming: Incoming, ctx: Context) -> Reply:
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
