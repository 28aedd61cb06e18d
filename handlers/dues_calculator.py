"""The monthly dues amount from a member's category and base: pure, Decimal, integer fen out.

Rates: 《关于中国共产党党费收缴、使用和管理的规定》（中组发〔2008〕3号）第二至六条, with the 2017 notice
(组电明字〔2017〕5号) on the base and the ≈¥1000 monthly cap. Each bracket includes its upper bound, and the rate
applies to the whole base (so there are cliffs at 3000, 5000 and 10000).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from storage.quoting import clip

RULES_2008 = "《关于中国共产党党费收缴、使用和管理的规定》（中组发〔2008〕3号）"
NOTICE_2017 = "《关于进一步规范党费工作的通知》（组电明字〔2017〕5号）"
CAP_FEN = 100_000  # ¥1000: "一般不超过1000元", more only voluntarily
FIXED_LOW_FEN = 20  # ¥0.2 for students, the unemployed, 低保/抚恤/救济
FARMER_MIN, FARMER_MAX = Decimal("0.2"), Decimal("1")

# (upper bound inclusive, rate, bracket text); None = no upper bound
WAGE_BRACKETS: tuple[tuple[Decimal | None, Decimal, str], ...] = (
    (Decimal(3000), Decimal("0.005"), "3000元以下（含3000元）"),
    (Decimal(5000), Decimal("0.01"), "3000元以上至5000元（含5000元）"),
    (Decimal(10000), Decimal("0.015"), "5000元以上至10000元（含10000元）"),
    (None, Decimal("0.02"), "10000元以上"),
)
RETIREE_BRACKETS: tuple[tuple[Decimal | None, Decimal, str], ...] = (
    (Decimal(5000), Decimal("0.005"), "5000元以下（含5000元）"),
    (None, Decimal("0.01"), "5000元以上"),
)

WAGE, ANNUAL, NO_FIXED, RETIRED, STUDENT, UNEMPLOYED, LOW_INCOME, FARMER = (
    "在职", "年薪制", "无固定收入", "离退休", "学生", "下岗失业", "低保", "农民")
CATEGORIES = (WAGE, ANNUAL, NO_FIXED, RETIRED, STUDENT, UNEMPLOYED, LOW_INCOME, FARMER)
ALIASES = {
    WAGE: ("在职", "工资", "月工资", "月收入", "收入", "薪水", "上班"),
    ANNUAL: ("年薪制", "年薪"),
    NO_FIXED: ("无固定收入", "个体", "个体户", "自由职业", "灵活就业", "私营"),
    RETIRED: ("离退休", "退休", "离休", "退休金", "养老金", "退休费", "离休费"),
    STUDENT: ("学生", "在校生", "研究生", "大学生"),
    UNEMPLOYED: ("下岗失业", "下岗", "失业"),
    LOW_INCOME: ("低保", "最低生活保障", "抚恤", "救济"),
    FARMER: ("农民", "农村"),
}
BASE_CATEGORIES = (WAGE, ANNUAL, NO_FIXED, RETIRED)  # these need a base; the others are fixed amounts


@dataclass(frozen=True)
class DuesResult:
    category: str
    base: Decimal | None
    monthly_fen: int
    rate: Decimal | None  # None for the fixed amounts
    bracket: str
    basis: str
    notes: tuple[str, ...] = ()
    uncapped_fen: int | None = None  # the formula's amount when it was above the cap

    @property
    def yuan(self) -> str:
        return fen_to_yuan(self.monthly_fen)


def category_of(text: str) -> str | None:
    """The category a word or phrase names (退休金 → 离退休), or None."""
    t = text.strip()
    for category, words in ALIASES.items():
        if t in words:
            return category
    return None


def parse_yuan(text: str | int | float | Decimal) -> Decimal:
    """'6500', '6,500元', '¥6500.5', '1.2万', '一万二', '８ｋ' → Decimal yuan; ValueError with a Chinese reason otherwise
    (also for a figure that can be read two ways, such as 2万50: never a guess)."""
    from handlers.amounts import read_one

    if isinstance(text, Decimal):
        value = text
    elif isinstance(text, int | float) and not isinstance(text, bool):
        value = Decimal(str(text))
    else:
        value = read_one(str(text))
    if not value.is_finite() or value < 0:
        raise ValueError(f"“{clip(str(text))}”不是有效金额")
    return value


def yuan_to_fen(value: Decimal, rounding: str = "half_up") -> int:
    mode = ROUND_DOWN if rounding == "down" else ROUND_HALF_UP
    return int(value.quantize(Decimal("0.01"), rounding=mode) * 100)


def fen_to_yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def _bracket(base: Decimal, table) -> tuple[Decimal, str]:
    for upper, rate, text in table:
        if upper is None or base <= upper:
            return rate, text
    raise AssertionError("the last bracket has no upper bound")


def calculate(category: str, base: Decimal | str | int | None = None, *, rounding: str = "half_up",
              farmer_yuan: Decimal | float | str = FARMER_MIN) -> DuesResult:
    """The monthly amount. `rounding` is the branch's dues_rounding setting (half_up / down, to the fen);
    `farmer_yuan` its farmer_dues setting (¥0.2–1)."""
    category = category_of(category) or category
    if category not in CATEGORIES:
        raise ValueError(f"不认识的党员类别“{clip(category)}”，可用：{'、'.join(CATEGORIES)}")
    if category in (STUDENT, UNEMPLOYED, LOW_INCOME):
        who = {STUDENT: "学生党员", UNEMPLOYED: "下岗失业的党员", LOW_INCOME: "依靠抚恤、救济或领取最低生活保障金生活的党员"}
        return DuesResult(category, None, FIXED_LOW_FEN, None, f"{who[category]}每月固定0.20元",
                          f"{RULES_2008}第六条")
    if category == FARMER:
        amount = Decimal(str(farmer_yuan))
        if not FARMER_MIN <= amount <= FARMER_MAX:
            raise ValueError("农民党员每月党费在 0.2 元到 1 元之间")
        return DuesResult(category, None, yuan_to_fen(amount, rounding), None,
                          "农民党员每月0.2元至1元，具体由本支部设置", f"{RULES_2008}第六条")

    if base is None:
        raise ValueError("请提供计算基数（月收入），例如 6500")
    base = parse_yuan(base)
    table = RETIREE_BRACKETS if category == RETIRED else WAGE_BRACKETS
    rate, bracket = _bracket(base, table)
    fen = yuan_to_fen(base * rate, rounding)
    article = {WAGE: "第二条", ANNUAL: "第三条", NO_FIXED: "第四条", RETIRED: "第五条"}[category]
    notes: list[str] = []
    if category == WAGE:
        notes.append("基数为税后工资中相对固定、经常性的部分，不含五险一金、个人所得税和改革性补贴。")
    elif category == ANNUAL:
        notes.append("年薪制党员以当月实际领取的薪酬为基数，适用在职党员的比例。")
    elif category == NO_FIXED:
        notes.append("没有固定月收入的，以上一季度月平均纯收入为基数，适用在职党员的比例。")
    else:
        notes.append("基数为基本离退休费或基本养老金，不含津贴补贴。")
    uncapped = None
    if fen > CAP_FEN:
        uncapped, fen = fen, CAP_FEN
        notes.append(f"按比例计算为 {fen_to_yuan(uncapped)} 元；每月交纳党费一般不超过 1000 元，"
                     f"本人自愿多交的不限（{NOTICE_2017}）。")
    return DuesResult(category, base, fen, rate, bracket, f"{RULES_2008}{article}；{NOTICE_2017}",
                      tuple(notes), uncapped)


def percent_text(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"
