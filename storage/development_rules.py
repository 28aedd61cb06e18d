"""发展党员 (domain.md §T07): the milestones the articles name, and their time rules, as data and pure functions.

No I/O and nothing but the standard library: storage (the entries, the Excel import), the handlers and the
reminder rules all check against this one table. Working days come from the caller's calendar (anything with
`is_workday(date)`, e.g. `reminders.workdays.Calendar`).

A record is keyed on the milestones of 细则 (application, the talk, activist confirmation, …), not on step numbers:
some units count 25 steps, some 29. Every entry is checked:

- **order**: a milestone needs the ones before it recorded, on or before its date;
- **hard rules** (≥ 18 years, ≥ 1 year as 积极分子, ≥ 5 working days' 公示, two 正式党员 as 介绍人, 1–2 正式党员 as
  培养联系人, ≥ 3 days or 24 学时 of training, a 政审 conclusion, the 支部大会's quorum and vote, 转正 only after the
  预备期, one extension of 6–12 months): an entry that breaks one is refused, naming the rule and its article;
- **deadlines** (talk within 1 month, a review every 6 months, 支部大会 within 1 month of 预审, 审批 within 3 months
  (at most 6), oath within 1 month, 转正审批 within 3 months): a late entry is recorded with a warning.

Versions: 细则2014 until 2026-05-10, 细则2026 from 2026-05-11 (the day it was issued, "自发布之日起施行"). A time limit
is the one in force on the date it runs from (a window opened under 2014 is not shortened by 2026); the 公示 of a
发展对象 belongs to the version of the 支委会's decision. 2014 article numbers are cited from the 2014 text and marked
"以原文为准".
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple, Protocol

from storage.months import add_months, add_years

V2014, V2026 = "2014", "2026"
V2026_FROM = date(2026, 5, 11)
DOC = "《中国共产党发展党员工作细则》"


def version_on(d: date) -> str:
    return V2026 if d >= V2026_FROM else V2014


class Workdays(Protocol):
    def is_workday(self, d: date) -> bool: ...


# --- dates ------------------------------------------------------------------------------------------------------------
def workdays_in(start: date, end: date, cal: Workdays) -> int:
    """Working days from `start` to `end`, both included."""
    n, d = 0, start
    while d <= end:
        n += cal.is_workday(d)
        d += timedelta(days=1)
    return n


def nth_workday(start: date, n: int, cal: Workdays) -> date:
    """The n-th working day counting from `start` (itself included when it is one)."""
    d, seen = start, 0
    while True:
        if cal.is_workday(d):
            seen += 1
            if seen == n:
                return d
        d += timedelta(days=1)


# --- the rules --------------------------------------------------------------------------------------------------------
def _basis(articles: Mapping[str, str], version: str) -> str:
    art = articles.get(version) or articles.get(V2026, "有关规定")
    note = "，以原文为准" if version == V2014 else ""
    return f"{DOC}（{version}年）{art}{note}"


@dataclass(frozen=True)
class Rule:
    key: str
    text: str  # the rule, one sentence
    articles: Mapping[str, str]  # version → article; a version without it has no such rule
    hard: bool

    def applies(self, version: str) -> bool:
        return version in self.articles

    def basis(self, version: str) -> str:
        return _basis(self.articles, version)


def _both(a2014: str, a2026: str | None = None) -> dict[str, str]:
    return {V2014: a2014, V2026: a2026 or a2014}


RULES: dict[str, Rule] = {r.key: r for r in (
    Rule("min_age", "年满18岁才能申请入党", _both("第五条"), True),
    Rule("talk", "党组织收到入党申请书后，应当在1个月内派人同申请人谈话", _both("第七条"), False),
    Rule("contacts", "党组织应当指定1至2名正式党员作入党积极分子的培养联系人", _both("第九条"), True),
    Rule("review", "党支部每半年对入党积极分子进行一次考察", _both("第十一条"), False),
    Rule("activist_year", "入党积极分子经过1年以上培养教育和考察，才能列为发展对象", _both("第十三条"), True),
    Rule("publicity", "拟列为发展对象的，在工作、学习单位或居住地公示，公示期不少于5个工作日", {V2026: "第十三条"}, True),
    Rule("introducers", "发展对象应当有两名正式党员作入党介绍人", _both("第十四条"), True),
    Rule("political_review", "未经政治审查或者政治审查不合格的，不能发展入党", _both("第十六、十七条", "第十六条"), True),
    Rule("training", "发展对象短期集中培训一般不少于3天或不少于24个学时，未经培训的不能发展入党",
         _both("第十八条", "第十七条"), True),
    Rule("meeting_window", "经基层党委预审合格的发展对象，应当在1个月内提交支部党员大会讨论", {V2026: "第十九条"}, False),
    Rule("quorum", "讨论接收预备党员的支部党员大会，实际到会有表决权的党员须超过应到会有表决权党员的半数",
         _both("第二十条", "第十九条"), True),
    Rule("vote", "赞成人数超过应到会有表决权党员的半数，才能通过决议", _both("第二十一条", "第二十条"), True),
    Rule("approval", "党委对接收预备党员的决议应当在3个月内审批，特殊情况可适当延长，但不得超过6个月",
         _both("第二十六条", "第二十五条"), False),
    Rule("oath", "入党宣誓一般在批复同意接收预备党员后的1个月内进行", {V2026: "第二十九条"}, False),
    Rule("probation", "预备期为1年，从支部党员大会通过之日算起，期满才能讨论转正", _both("第三十二条", "第三十一条"), True),
    Rule("extension", "预备期只能延长一次，延长时间不能少于半年，最长不超过1年", _both("第三十二条", "第三十一条"), True),
    Rule("conversion_approval", "党委对预备党员转正的决议应当在3个月内审批", _both("第三十四条", "第三十三条"), False),
)}


# --- the milestones ---------------------------------------------------------------------------------------------------
STAGES = ("申请入党", "入党积极分子的确定和培养教育", "发展对象的确定和考察", "预备党员的接收", "预备党员的教育考察和转正")


@dataclass(frozen=True)
class Step:
    key: str
    name: str  # what the articles call it
    short: str  # the usual name in a command and a column
    stage: int  # 1–5 (0: closing the record)
    after: tuple[str, ...]  # recorded before it, on or before its date
    articles: Mapping[str, str]
    aliases: tuple[str, ...] = ()
    repeat: bool = False  # may be recorded more than once (the half-yearly reviews)

    def basis(self, version: str) -> str:
        return _basis(self.articles, version)

    def title(self, version: str = V2026) -> str:
        if self.key == "object_upper" and version == V2014:
            return "发展对象报上级党委备案"  # 2026: 同意 (was 备案)
        return self.name


STEP_LIST: tuple[Step, ...] = (
    Step("application", "递交入党申请书", "申请", 1, (), _both("第五、六条"),
         ("申请", "入党申请", "入党申请书", "申请书", "递交申请", "递交入党申请书", "提交申请", "申请入党")),
    Step("talk", "党组织派人谈话", "谈话", 1, ("application",), _both("第七条"),
         ("谈话", "派人谈话", "申请谈话", "申请人谈话", "入党谈话")),
    Step("activist", "确定入党积极分子", "积极分子", 2, ("talk",), _both("第八条"),
         ("积极分子", "入党积极分子", "确定积极分子", "确定入党积极分子", "列为积极分子")),
    Step("activist_filed", "积极分子报上级党委备案", "积极分子备案", 2, ("activist",), _both("第八条"),
         ("积极分子备案", "备案积极分子")),
    Step("contacts", "指定培养联系人", "培养联系人", 2, ("activist",), _both("第九条"),
         ("培养联系人", "联系人", "指定联系人", "指定培养联系人")),
    Step("review", "半年考察", "考察", 2, ("activist",), _both("第十一条"),
         ("考察", "半年考察", "培养考察", "考察记录", "培养教育考察"), repeat=True),
    Step("object", "确定发展对象（支委会研究）", "发展对象", 3, ("activist", "activist_filed", "contacts"),
         _both("第十三条"), ("发展对象", "确定发展对象", "列为发展对象", "拟定发展对象")),
    Step("object_upper", "发展对象报上级党委同意", "上级同意", 3, ("object",), _both("第十三条"),
         ("上级同意", "上级党委同意", "报上级同意", "上级备案", "发展对象备案", "发展对象同意")),
    Step("publicity", "发展对象公示", "公示", 3, ("object_upper",), {V2026: "第十三条"}, ("公示", "发展对象公示")),
    Step("introducers", "确定入党介绍人", "入党介绍人", 3, ("object",), _both("第十四条"),
         ("介绍人", "入党介绍人", "确定介绍人", "确定入党介绍人")),
    Step("political_review", "政治审查", "政审", 3, ("object",), _both("第十六、十七条", "第十六条"),
         ("政审", "政治审查")),
    Step("training", "短期集中培训", "培训", 3, ("object",), _both("第十八条", "第十七条"),
         ("培训", "集中培训", "短期集中培训", "短期培训")),
    Step("committee_review", "支部委员会审查", "支委会审查", 4,
         ("object_upper", "introducers", "political_review", "training"), _both("第十九条", "第十八条"),
         ("支委会审查", "支部委员会审查", "审查")),
    Step("prereview", "上级党委预审", "预审", 4, ("committee_review",), _both("第十九条", "第十八条"),
         ("预审", "上级预审", "党委预审")),
    Step("volunteer_form", "填写入党志愿书", "志愿书", 4, ("prereview",), _both("第十九条", "第十八条"),
         ("志愿书", "入党志愿书", "填写志愿书", "填写入党志愿书")),
    Step("branch_meeting", "支部党员大会讨论接收", "支部大会", 4, ("volunteer_form",),
         _both("第二十、二十一条", "第十九、二十条"),
         ("支部大会", "支部党员大会", "接收预备党员", "大会讨论", "党员大会")),
    Step("upper_talk", "上级党委派人谈话", "上级谈话", 4, ("branch_meeting",), _both("第二十四条", "第二十三条"),
         ("上级谈话", "党委谈话", "组织员谈话", "上级党委谈话")),
    Step("approval", "上级党委审批（接收预备党员）", "审批", 4, ("upper_talk",), _both("第二十六条", "第二十五条"),
         ("审批", "党委审批", "上级审批", "批准", "批准入党")),
    Step("upper_filed", "报上级党委组织部门备案", "审批备案", 4, ("approval",), _both("第二十六条", "第二十五条"),
         ("审批备案", "组织部备案", "报组织部备案")),
    Step("oath", "入党宣誓", "宣誓", 5, ("approval",), _both("第三十条", "第二十九条"), ("宣誓", "入党宣誓")),
    Step("extension", "延长预备期", "延长预备期", 5, ("approval",), _both("第三十二条", "第三十一条"),
         ("延长预备期", "延期", "延长")),
    Step("conversion_application", "提出转正申请", "转正申请", 5, ("approval",), _both("第三十三条", "第三十二条"),
         ("转正申请", "申请转正", "提交转正申请")),
    Step("conversion_meeting", "支部大会讨论转正", "转正大会", 5, ("conversion_application", "oath"),
         _both("第三十三条", "第三十二条"), ("转正大会", "讨论转正", "转正讨论", "转正表决")),
    Step("conversion_approval", "上级党委审批转正", "转正审批", 5, ("conversion_meeting",),
         _both("第三十四条", "第三十三条"), ("转正审批", "批准转正", "转正")),
    Step("archive", "材料归档", "归档", 5, ("conversion_approval",), {V2026: "第三十六条"}, ("归档", "材料归档", "入档")),
    Step("stop", "终止发展（取消资格、停止培养或转出）", "终止", 0, ("application",), {},
         ("终止", "停止培养", "取消资格", "取消预备党员资格", "转出", "不再培养", "终止发展")),
)
STEPS: dict[str, Step] = {s.key: s for s in STEP_LIST}
ORDER = {s.key: i for i, s in enumerate(STEP_LIST)}
_ALIASES = {a: s.key for s in STEP_LIST for a in (s.short, *s.aliases)}
# a 预备党员's 支部大会 and 审批 are those of the 转正
_AFTER_APPROVAL = {"branch_meeting": "conversion_meeting", "approval": "conversion_approval"}


def usual_names() -> str:
    return "、".join(s.short for s in STEP_LIST)


# --- a record --------------------------------------------------------------------------------------------------------
class Milestone(NamedTuple):
    step: str
    day: date
    end: date | None = None  # the last day of a 公示 or of a training
    data: Mapping[str, Any] = {}  # counts, names, the 政审 conclusion, training days/hours, extension months


@dataclass(frozen=True)
class Record:
    name: str
    birth: date | None = None
    milestones: tuple[Milestone, ...] = ()

    def get(self, step: str) -> Milestone | None:
        """The milestone of a single step (the latest, for the reviews)."""
        found = [m for m in self.milestones if m.step == step]
        return max(found, key=lambda m: m.day) if found else None

    def all(self, step: str) -> list[Milestone]:
        return sorted((m for m in self.milestones if m.step == step), key=lambda m: m.day)

    def has(self, step: str) -> bool:
        return any(m.step == step for m in self.milestones)

    def day(self, step: str) -> date | None:
        m = self.get(step)
        return m.day if m else None

    def with_(self, m: Milestone) -> Record:
        return Record(self.name, self.birth, (*self.milestones, m))

    @property
    def stopped(self) -> bool:
        return self.has("stop")


def resolve_step(word: str, record: Record | None = None) -> str | None:
    """The step a secretary means by `word` (its usual name or a common variant). For a 预备党员, 支部大会 and 审批
    mean those of the 转正."""
    key = _ALIASES.get(word.strip())
    if key and record is not None and record.has("approval") and key in _AFTER_APPROVAL:
        key = _AFTER_APPROVAL[key]
    return key


PIPELINE_STAGES = ("入党申请人", "入党积极分子", "发展对象", "预备党员")


def stage(record: Record) -> str:
    if record.stopped:
        return "已终止"
    for step, name in (("conversion_approval", "已转正"), ("approval", "预备党员"), ("object", "发展对象"),
                       ("activist", "入党积极分子"), ("application", "入党申请人")):
        if record.has(step):
            return name
    return "未登记申请"


def object_version(record: Record) -> str | None:
    d = record.day("object")
    return version_on(d) if d else None


def needs_publicity(record: Record) -> bool:
    return object_version(record) == V2026


def prerequisites(record: Record, step: str) -> tuple[str, ...]:
    after = STEPS[step].after
    if step == "committee_review" and needs_publicity(record):
        after = (*after, "publicity")
    return after


def probation_end(record: Record) -> date | None:
    """The 预备期's end: 1 year from the 支部大会, plus an extension."""
    meeting = record.day("branch_meeting")
    if meeting is None:
        return None
    end = add_years(meeting, 1)
    ext = record.get("extension")
    if ext is not None:
        end = add_months(end, int(ext.data.get("months", 0)))
    return end


def review_due(record: Record) -> tuple[date, date] | None:
    """(the last review, or the activist confirmation; the day the next review is due) while the person is an
    入党积极分子: at most half a year between reviews."""
    a = record.day("activist")
    if a is None or record.has("object"):
        return None
    last = max([a, *(m.day for m in record.all("review"))])
    return last, add_months(last, 6)


# --- checking an entry ----------------------------------------------------------------------------------------------
@dataclass
class Verdict:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    version: str = V2026

    @property
    def ok(self) -> bool:
        return not self.errors


def cite(rule: str, version: str) -> str:
    r = RULES[rule]
    return f"规定：{r.text}（{r.basis(version)}）"


def _names(data: Mapping[str, Any]) -> list[str]:
    return [n for n in data.get("names", ()) if n]


def check_entry(record: Record, new: Milestone, today: date, cal: Workdays,
                people: Mapping[str, str | None] | None = None) -> Verdict:
    """What is wrong with recording `new` on `record`: errors refuse it, warnings go with it.

    `people` maps each named 培养联系人 / 入党介绍人 to their category in the roster (正式 / 预备), None when not found.
    """
    step = STEPS[new.step]
    v = Verdict(version=version_on(new.day))
    err = v.errors.append
    if record.stopped and new.step != "stop":
        err(f"{record.name}的发展已终止，不能再登记。如属误登，请先撤销“终止”。")
        return v
    if new.day > today:
        err(f"{new.day.isoformat()}还没到，不能登记未来的日期。")
        return v
    if not step.repeat and record.has(new.step):
        old = record.get(new.step)
        err(f"{record.name}的“{step.short}”已登记过（{old.day.isoformat()}）。要更正，请先发送“撤销发展登记 "
            f"{record.name} {step.short}”，再重新登记。")
        return v
    for pre in prerequisites(record, new.step):
        m = record.get(pre)
        p = STEPS[pre]
        if m is None:
            err(f"{record.name}还没有登记“{p.title(object_version(record) or v.version)}”，应先{p.short}后{step.short}"
                f"（依据：{p.basis(v.version)}）。请先登记：登记发展 {record.name} {p.short} 日期")
        elif pre == "publicity" and m.end is not None and m.end >= new.day:
            err(f"{record.name}的公示{m.end.isoformat()}才结束，公示期满后才能{step.short}。{cite('publicity', V2026)}")
        elif m.day > new.day:
            err(f"{step.short}的日期（{new.day.isoformat()}）早于{p.short}（{m.day.isoformat()}）："
                f"应先{p.short}后{step.short}，请核对日期。")
    if v.errors:
        return v
    check = _CHECKS.get(new.step)
    if check is not None:
        check(record, new, cal, people or {}, v)
    return v


def _check_application(record, new, cal, people, v):
    if record.birth is None:
        v.warnings.append(f"没有登记{record.name}的出生日期，无法核对是否年满18岁。请补充：登记发展 {record.name} 资料 "
                          "出生2000-01-01")
        return
    adult = add_years(record.birth, 18)
    if new.day < adult:
        v.errors.append(f"{record.name}在{new.day.isoformat()}未满18岁（{adult.isoformat()}满18岁），不能申请入党。"
                        f"{cite('min_age', v.version)}；《中国共产党章程》第一条")


def _late(v: Verdict, rule: str, version: str, what: str, due: date, done: date) -> None:
    v.warnings.append(f"{what}逾期：应在{due.isoformat()}前，实际{done.isoformat()}，晚了{(done - due).days}天。"
                      f"已登记并注明逾期。{cite(rule, version)}")


def _check_talk(record, new, cal, people, v):
    app = record.day("application")
    due = add_months(app, 1)
    if new.day > due:
        _late(v, "talk", version_on(app), "谈话", due, new.day)


def _check_people(record, new, v, rule, lo, hi, role, people):
    names = _names(new.data)
    if not lo <= len(names) <= hi:
        need = f"{lo}名" if lo == hi else f"{lo}至{hi}名"
        v.errors.append(f"{role}应为{need}正式党员，这次写了{len(names)}名。{cite(rule, v.version)}")
        return
    if len(set(names)) != len(names):
        v.errors.append(f"{role}写了同一个人两次。")
        return
    if record.name in names:
        v.errors.append(f"{record.name}不能作自己的{role}。")
        return
    for n in names:
        cat = people.get(n)
        if cat == "预备":
            v.errors.append(f"{n}是预备党员，不能作{role}（须为正式党员）。{cite(rule, v.version)}")
        elif cat is None:
            v.warnings.append(f"党员名单中没有找到{n}，请核对其为正式党员。")


def _check_contacts(record, new, cal, people, v):
    _check_people(record, new, v, "contacts", 1, 2, "培养联系人", people)


def _check_introducers(record, new, cal, people, v):
    _check_people(record, new, v, "introducers", 2, 2, "入党介绍人", people)


def _check_review(record, new, cal, people, v):
    obj = record.day("object")
    if obj is not None and new.day >= obj:
        v.errors.append(f"{record.name}已于{obj.isoformat()}确定为发展对象，半年考察是对入党积极分子的，不再登记。")
        return
    last = max([record.day("activist"), *(m.day for m in record.all("review") if m.day <= new.day)])
    if new.day > add_months(last, 6):
        v.warnings.append(f"距上次考察（{last.isoformat()}）已超过半年。{cite('review', version_on(last))}")


def _check_object(record, new, cal, people, v):
    a = record.day("activist")
    earliest = add_years(a, 1)
    if new.day < earliest:
        months = (new.day.year - a.year) * 12 + new.day.month - a.month - (new.day.day < a.day)
        v.errors.append(f"{record.name}{a.isoformat()}确定为入党积极分子，到{new.day.isoformat()}只培养了{months}个月，"
                        f"不满1年，不能确定为发展对象；最早{earliest.isoformat()}。{cite('activist_year', v.version)}")
        return
    marks = sorted([a, *(m.day for m in record.all("review") if m.day <= new.day), new.day])
    gaps = [(x, y) for x, y in zip(marks, marks[1:], strict=False) if y > add_months(x, 6)]
    if gaps:
        spans = "、".join(f"{x.isoformat()}至{y.isoformat()}" for x, y in gaps)
        v.warnings.append(f"{spans}超过半年没有考察记录。{cite('review', version_on(a))}")


def _check_publicity(record, new, cal, people, v):
    if new.end is not None and new.end < new.day:
        v.errors.append("公示结束日期早于开始日期，请核对。")
        return
    if not needs_publicity(record):
        return  # 2014: no 公示 was required for a 发展对象; recorded as the branch did it
    end = new.end or nth_workday(new.day, 5, cal)
    n = workdays_in(new.day, end, cal)
    if n < 5:
        v.errors.append(f"公示期{new.day.isoformat()}至{end.isoformat()}只有{n}个工作日，须不少于5个工作日，"
                        f"最早{nth_workday(new.day, 5, cal).isoformat()}结束。{cite('publicity', V2026)}")


def _check_political_review(record, new, cal, people, v):
    if not str(new.data.get("conclusion", "")).strip():
        v.errors.append(f"请写上政审结论，例如：登记发展 {record.name} 政审 {new.day.isoformat()} 合格。"
                        f"{cite('political_review', v.version)}")


def _check_training(record, new, cal, people, v):
    days, hours = new.data.get("days"), new.data.get("hours")
    if days is None and hours is None:
        v.errors.append(f"请写上培训天数或学时，例如：登记发展 {record.name} 培训 {new.day.isoformat()} 3天。")
    elif (days or 0) < 3 and (hours or 0) < 24:
        got = "、".join(x for x in (f"{days}天" if days is not None else "",
                                   f"{hours}学时" if hours is not None else "") if x)
        v.errors.append(f"培训{got}，不足3天或24学时。{cite('training', v.version)}")


def _check_committee_review(record, new, cal, people, v):
    pr = record.get("political_review")
    if pr is not None and "不合格" in str(pr.data.get("conclusion", "")):
        v.errors.append(f"{record.name}的政审结论为“{pr.data.get('conclusion')}”，不能发展入党。"
                        f"{cite('political_review', v.version)}")


def _check_counts(new: Milestone, v: Verdict, what: str) -> bool:
    d = new.data
    due, present, yes = d.get("due"), d.get("present"), d.get("yes")
    if due is None or present is None or yes is None:
        v.errors.append(f"请写上{what}的人数：应到会有表决权的党员、实到、赞成，例如“应到12 实到10 赞成10”。")
        return False
    if due <= 0 or present > due or yes > due:
        v.errors.append(f"人数不对：应到{due}、实到{present}、赞成{yes}（实到和赞成都不能超过应到）。")
        return False
    if present * 2 <= due:
        v.errors.append(f"实到{present}人，未超过应到会有表决权党员{due}人的半数（至少{due // 2 + 1}人），会议无效。"
                        f"{cite('quorum', v.version)}")
    elif yes * 2 <= due:
        v.errors.append(f"赞成{yes}人，未超过应到会有表决权党员{due}人的半数（至少{due // 2 + 1}人），决议未通过，"
                        f"不能登记为通过。{cite('vote', v.version)}")
    return not v.errors


def _check_branch_meeting(record, new, cal, people, v):
    if not _check_counts(new, v, "支部大会"):
        return
    pre = record.day("prereview")
    if RULES["meeting_window"].applies(version_on(pre)) and new.day > add_months(pre, 1):
        _late(v, "meeting_window", version_on(pre), "预审后召开支部大会", add_months(pre, 1), new.day)


def _check_approval(record, new, cal, people, v):
    meeting = record.day("branch_meeting")
    version = version_on(meeting)
    due, hard = add_months(meeting, 3), add_months(meeting, 6)
    if new.day > hard:
        v.warnings.append(f"审批距支部大会（{meeting.isoformat()}）已超过最长6个月（应在{hard.isoformat()}前）。"
                          f"已登记，请向上级党委说明情况。{cite('approval', version)}")
    elif new.day > due:
        _late(v, "approval", version, "上级党委审批", due, new.day)


def _check_oath(record, new, cal, people, v):
    approved = record.day("approval")
    version = version_on(approved)
    if RULES["oath"].applies(version) and new.day > add_months(approved, 1):
        _late(v, "oath", version, "入党宣誓", add_months(approved, 1), new.day)


def _check_extension(record, new, cal, people, v):
    months = new.data.get("months")
    if months is None or not 6 <= months <= 12:
        v.errors.append(f"延长预备期须写月数，不少于6个月、不超过12个月（这次：{months or '未写'}）。"
                        f"{cite('extension', v.version)}")
    elif record.has("conversion_meeting"):
        v.errors.append("已经讨论过转正，不能再延长预备期。")


def _check_conversion_meeting(record, new, cal, people, v):
    end = probation_end(record)
    if new.day < end:
        v.errors.append(f"{record.name}的预备期到{end.isoformat()}才满，期满后才能讨论转正。"
                        f"{cite('probation', version_on(record.day('branch_meeting')))}")
        return
    _check_counts(new, v, "转正的支部大会")


def _check_conversion_approval(record, new, cal, people, v):
    meeting = record.day("conversion_meeting")
    due = add_months(meeting, 3)
    if new.day > due:
        _late(v, "conversion_approval", version_on(meeting), "转正审批", due, new.day)


_CHECKS = {
    "application": _check_application, "talk": _check_talk, "contacts": _check_contacts, "review": _check_review,
    "object": _check_object, "publicity": _check_publicity, "introducers": _check_introducers,
    "political_review": _check_political_review, "training": _check_training,
    "committee_review": _check_committee_review, "branch_meeting": _check_branch_meeting,
    "approval": _check_approval, "oath": _check_oath, "extension": _check_extension,
    "conversion_meeting": _check_conversion_meeting, "conversion_approval": _check_conversion_approval,
}


def with_publicity_end(new: Milestone, cal: Workdays) -> Milestone:
    """A 公示 entered by its first day ends on its fifth working day."""
    if new.step == "publicity" and new.end is None:
        return new._replace(end=nth_workday(new.day, 5, cal))
    return new


def dependents(record: Record, step: str) -> list[str]:
    """Recorded steps that need `step` before them (so it cannot be revoked while they stand)."""
    return sorted({m.step for m in record.milestones if step in prerequisites(record, m.step)}, key=ORDER.get)


# --- what is due -----------------------------------------------------------------------------------------------------
class Limit(NamedTuple):
    """A time limit running on a record: `step` must be done by `due` (kind "by"), or may be done from `due`
    (kind "from"). `since` is the event it runs from."""

    rule: str
    step: str
    kind: str  # by / from
    since: date
    due: date
    hard_due: date | None = None  # 审批: the 6-month ceiling


def limits(record: Record) -> list[Limit]:
    """The limits running on `record`, in the order of the steps."""
    if record.stopped or record.has("conversion_approval"):
        return []
    out: list[Limit] = []
    has = record.has
    app = record.day("application")
    if app and not has("talk"):
        out.append(Limit("talk", "talk", "by", app, add_months(app, 1)))
    review = review_due(record)
    if review is not None:
        a = record.day("activist")
        out.append(Limit("review", "review", "by", review[0], review[1]))
        out.append(Limit("activist_year", "object", "from", a, add_years(a, 1)))
    pre = record.day("prereview")
    if pre and not has("branch_meeting") and RULES["meeting_window"].applies(version_on(pre)):
        out.append(Limit("meeting_window", "branch_meeting", "by", pre, add_months(pre, 1)))
    meeting = record.day("branch_meeting")
    if meeting and not has("approval"):
        out.append(Limit("approval", "approval", "by", meeting, add_months(meeting, 3), add_months(meeting, 6)))
    approved = record.day("approval")
    if approved and not has("oath") and RULES["oath"].applies(version_on(approved)):
        out.append(Limit("oath", "oath", "by", approved, add_months(approved, 1)))
    if approved and not has("conversion_meeting"):
        out.append(Limit("probation", "conversion_meeting", "from", meeting, probation_end(record)))
    conv = record.day("conversion_meeting")
    if conv and not has("conversion_approval"):
        out.append(Limit("conversion_approval", "conversion_approval", "by", conv, add_months(conv, 3)))
    return out


class Next(NamedTuple):
    step: str
    earliest: date | None
    latest: date | None


def next_steps(record: Record) -> list[Next]:
    """The steps that can be recorded now (their prerequisites are in), in the order of the steps, each with the
    earliest date the rules allow and the latest a limit sets; the next review last."""
    if record.stopped or record.has("archive"):
        return []
    lims = limits(record)
    out: list[Next] = []
    for s in STEP_LIST:
        if s.key in ("stop", "extension", "review") or record.has(s.key):
            continue
        if s.key == "publicity" and not needs_publicity(record):
            continue
        pres = prerequisites(record, s.key)
        if not all(record.has(p) for p in pres):
            continue
        earliest = max((record.day(p) for p in pres), default=None)
        pub = record.get("publicity")
        if "publicity" in pres and pub is not None and pub.end is not None:
            earliest = max(earliest, pub.end + timedelta(days=1))
        latest = None
        for lim in lims:
            if lim.step == s.key:
                if lim.kind == "from":
                    earliest = max(earliest or lim.due, lim.due)
                else:
                    latest = lim.due
        out.append(Next(s.key, earliest, latest))
    out += [Next("review", lim.since, lim.due) for lim in lims if lim.rule == "review"]
    return out


def overdue(record: Record, today: date) -> list[Limit]:
    return [lim for lim in limits(record) if lim.kind == "by" and lim.due < today]
