"""发展党员 reminders: before a time limit of storage/development_rules.py passes, and once it has passed — pure
functions of a branch's pipeline and a date, planned by the same planner as reminders/rules.py (same `Due`, same
catch-up: a reminder is included on day D when it is due by D and still relevant at the start of D).

Limits watched: the talk within a month of the application, a review every six months, the year of activist
training reached, the 支部大会 within a month of 预审 (2026), 审批 within 3 months (at most 6), the oath within a
month of approval (2026), the 预备期's end (30 days ahead, and the day), 转正审批 within 3 months. A limit met by
an entry stops its reminders: they follow the record.

Recipients: the branch's 书记 and 组织委员 (the 副书记 when there is neither). Keys:
`development:<branch>:<record id>:<limit>:<due date>:<stage>` plus ":" and the recipient's account. The 预备期
reminders keep reminders/rules.py's `probation_due:` kind and keys (they moved onto the record, so an extended
预备期 moves them too; rules.py leaves out the members a record follows).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import NamedTuple

from reminders import workdays
from reminders.rules import DEFAULT_TZ, NOTICE_AT, Due, Person, at, cn, midnight, notice_day
from storage.development_rules import STEPS, Limit, Record, add_months, limits

KIND = "development"
BEFORE_DAYS = {"talk": 7, "review": 14, "meeting_window": 7, "approval": 14, "oath": 7, "conversion_approval": 14}
PASSED_RELEVANT = timedelta(days=30)  # a "limit passed" notice not sent within a month is stale


class PipelineRecord(NamedTuple):
    id: int
    record: Record
    member: Person | None = None  # in the roster (from approval as a 预备党员)


class BranchPipeline(NamedTuple):
    org_id: int
    name: str
    recipients: tuple[Person, ...]  # 书记 and 组织委员
    records: tuple[PipelineRecord, ...]
    tz: tzinfo = DEFAULT_TZ  # the configured ZHIBU_TIMEZONE, as reminders/rules.py's OrgState.tz

    def at(self, d: date, t: time = NOTICE_AT) -> datetime:
        return at(d, self.tz, t)

    def midnight(self, d: date) -> datetime:
        return midnight(d, self.tz)


def ymd(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _texts(lim: Limit, name: str) -> tuple[str, str]:
    """(before the limit, after it passed) for a "by" limit."""
    since, due = ymd(lim.since), cn(lim.due)
    register = f"完成后请发送“登记发展 {name} {STEPS[lim.step].short} 日期”。"
    if lim.rule == "talk":
        return (f"入党申请人{name}于{since}递交入党申请书，党组织应在{due}前派人同其谈话（收到申请后1个月内）。{register}",
                f"入党申请人{name}的谈话已过期限（应在{due}前，收到申请后1个月内）。请尽快谈话并登记，登记时会注明逾期。")
    if lim.rule == "review":
        return (f"入党积极分子{name}上次考察是{since}，应在{due}前完成半年考察。{register}",
                f"入党积极分子{name}已超过半年没有考察（上次{since}，应在{due}前）。请尽快考察并登记。")
    if lim.rule == "meeting_window":
        return (f"发展对象{name}已于{since}通过预审，应在{due}前召开支部党员大会讨论接收（预审后1个月内）。{register}",
                f"发展对象{name}预审通过已超过1个月（应在{due}前提交支部党员大会），请尽快召开并登记。")
    if lim.rule == "approval":
        hard = cn(lim.hard_due) if lim.hard_due else ""
        return (f"{name}的接收预备党员决议（{since}支部大会通过）应在{due}前由上级党委审批，请跟进。{register}",
                f"{name}的接收预备党员决议（{since}支部大会通过）已超过3个月未审批（应在{due}前），最长不得超过"
                f"{lim.hard_due.year}年{hard}。请向上级党委了解情况，批准后登记。")
    if lim.rule == "oath":
        return (f"预备党员{name}已于{since}批准，应在{due}前组织入党宣誓（批准后1个月内）。{register}",
                f"预备党员{name}批准已超过1个月还没有登记入党宣誓（应在{due}前），请尽快组织并登记。")
    return (f"预备党员{name}的转正决议（{since}支部大会通过）应在{due}前由上级党委审批，请跟进。{register}",
            f"预备党员{name}的转正决议（{since}支部大会通过）已超过3个月未审批（应在{due}前）。请向上级党委了解情况。")


def _probation(branch: BranchPipeline, rec: PipelineRecord, end: date, to: tuple[Person, ...],
               cal: workdays.Calendar) -> list[Due]:
    """The 预备期's end, as reminders/rules.py words and keys it."""
    name = rec.record.name
    account = rec.member.account if rec.member else f"record-{rec.id}"
    ends = ymd(end)
    base = f"probation_due:{branch.name}:{end}"
    return [
        Due(f"{base}:T-30d:{account}", "probation_due", branch.name, to,
            branch.at(notice_day(end - timedelta(days=30), cal)), branch.midnight(end),
            f"预备党员{name}的预备期将于{ends}期满。转正步骤：本人提交书面转正申请→党小组提出意见→"
            "支委会审查→支部党员大会讨论表决→报上级党委审批（3个月内）。请提前准备。"),
        Due(f"{base}:T0:{account}", "probation_due", branch.name, to, branch.at(end),
            branch.midnight(add_months(end, 3)),
            f"预备党员{name}的预备期已于{ends}期满，请及时召开支部党员大会讨论其转正，"
            "并报上级党委审批；需延长预备期的也须经支部大会讨论。"),
    ]


def record_dues(branch: BranchPipeline, rec: PipelineRecord, cal: workdays.Calendar) -> list[Due]:
    to = branch.recipients
    name = rec.record.name
    out: list[Due] = []
    for lim in limits(rec.record):
        base = f"{KIND}:{branch.name}:{rec.id}:{lim.rule}:{lim.due}"
        if lim.rule == "probation":
            out.extend(_probation(branch, rec, lim.due, to, cal))
        elif lim.rule == "activist_year":
            out.append(Due(f"{base}:reached", KIND, branch.name, to, branch.at(notice_day(lim.due, cal)),
                           branch.midnight(lim.due + PASSED_RELEVANT),
                           f"入党积极分子{name}（{ymd(lim.since)}确定）将于{cn(lim.due)}满1年培养期。满1年后可听取党小组、"
                           "培养联系人、党员和群众意见，经支委会研究拟列为发展对象，报上级党委同意并公示不少于5个工作日。"))
        else:
            before, passed = _texts(lim, name)
            ahead = BEFORE_DAYS[lim.rule]
            out.append(Due(f"{base}:T-{ahead}d", KIND, branch.name, to,
                           branch.at(notice_day(lim.due - timedelta(days=ahead), cal)),
                           branch.midnight(lim.due + timedelta(days=1)),
                           before))
            late = cal.next(lim.due + timedelta(days=1))  # only once it has passed: never moved earlier
            out.append(Due(f"{base}:passed", KIND, branch.name, to, branch.at(late),
                           branch.midnight(late + PASSED_RELEVANT), passed))
    return out


def development_due_items(branch: BranchPipeline, today: date, cal: workdays.Calendar) -> list[Due]:
    """What should have gone out by `today` for this branch's pipeline and is still relevant."""
    start = branch.midnight(today)
    out, seen = [], set()
    for rec in branch.records:
        for due in record_dues(branch, rec, cal):
            if due.due_at.date() <= today and due.relevant_until > start and due.recipients and due.key not in seen:
                seen.add(due.key)
                out.append(due)
    return out
