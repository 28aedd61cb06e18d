"""How a 发展党员 record reads in the chat: its timeline, its next steps with their earliest and latest dates, the
items that need attention (overdue first, then due within 30 days), and one line per person for the pipeline."""
from __future__ import annotations

from datetime import date, timedelta

from storage.development_rules import (
    STEPS,
    V2026,
    Milestone,
    Record,
    limits,
    needs_publicity,
    next_steps,
    object_version,
    probation_end,
    stage,
)
from storage.models import DevelopmentMilestone, DevelopmentRecord

HORIZON = timedelta(days=30)  # "due soon"


def when(d: date, today: date) -> str:
    from reminders.durations import time_left

    days = (d - today).days
    if days == 0:
        return "今天"
    return time_left(today, d, past="已逾期")


def step_title(step: str, record: Record) -> str:
    return STEPS[step].title(object_version(record) or V2026)


def detail(m: Milestone, private: bool) -> str:
    """What a milestone carries, after its date: the 公示 period, names, hours, counts, the 政审 conclusion."""
    d = m.data
    parts = []
    if m.step == "publicity" and m.end:
        parts.append(f"至{m.end.isoformat()}")
    if m.step == "training":
        parts.append("、".join(x for x in (f"{d['days']}天" if d.get("days") is not None else "",
                                           f"{d['hours']}学时" if d.get("hours") is not None else "") if x))
        if m.end:
            parts.append(f"至{m.end.isoformat()}")
    if d.get("names"):
        parts.append("、".join(d["names"]))
    if m.step == "extension" and d.get("months"):
        parts.append(f"延长{d['months']}个月")
    if private:
        if d.get("due") is not None:
            parts.append(f"应到{d['due']} 实到{d['present']} 赞成{d['yes']}")
        if d.get("conclusion"):
            parts.append(f"结论：{d['conclusion']}")
    return "，".join(p for p in parts if p)


def timeline(row: DevelopmentRecord, record: Record, private: bool) -> list[str]:
    """One line per milestone, by date; for the committee also who recorded it, the version and any warning."""
    lines = []
    for m in sorted(row.milestones, key=lambda m: (m.day, m.id)):
        ms = Milestone(m.step, m.day, m.end_day, m.data or {})
        extra = detail(ms, private)
        line = f"· {m.day.isoformat()} {step_title(m.step, record)}" + (f"（{extra}）" if extra else "")
        if private:
            if m.warnings:
                line += "　⚠逾期或有疑点"
            if m.note:
                line += f"　备注：{m.note}"
        lines.append(line)
    return lines


def next_lines(record: Record, today: date) -> list[str]:
    """The steps that can be recorded now with their earliest and latest dates, then the limits further on (the
    year of training, the end of the 预备期) that no step available yet shows."""
    lines, shown = [], set()
    for n in next_steps(record):
        shown.add(n.step)
        title = "半年考察" if n.step == "review" else step_title(n.step, record)
        bits = []
        if n.latest is not None:
            bits.append(f"最迟{n.latest.isoformat()}（{when(n.latest, today)}）")
        if n.earliest is not None and (n.earliest > today or n.step in ("object", "conversion_meeting")):
            bits.append(f"{n.earliest.isoformat()}起可以" if n.earliest > today else f"最早{n.earliest.isoformat()}")
        if n.step == "conversion_application":
            bits.append(f"预备期{probation_end(record).isoformat()}满，本人在期满时提出书面申请")
        lines.append(f"· {title}" + (f"：{'，'.join(bits)}" if bits else ""))
    for lim in limits(record):
        if lim.kind == "from" and lim.step not in shown:
            what = "满1年" if lim.rule == "activist_year" else "预备期满"
            lines.append(f"· {step_title(lim.step, record)}：{lim.due.isoformat()}起可以（{what}，{when(lim.due, today)}）")
    return lines


def attention(record: Record, today: date) -> list[tuple[int, date, str]]:
    """(0 overdue / 1 due soon, date, text) for the limits that need the committee now."""
    out = []
    for lim in limits(record):
        title = "半年考察" if lim.rule == "review" else step_title(lim.step, record)
        if lim.kind == "by":
            if lim.due < today:
                extra = f"，最长不得超过{lim.hard_due.isoformat()}" if lim.hard_due else ""
                out.append((0, lim.due, f"{title}：应在{lim.due.isoformat()}前（已逾期{(today - lim.due).days}天{extra}）"))
            elif lim.due - today <= HORIZON:
                out.append((1, lim.due, f"{title}：最迟{lim.due.isoformat()}（{when(lim.due, today)}）"))
        elif today <= lim.due and lim.due - today <= HORIZON:
            what = "满1年，可研究确定为发展对象" if lim.rule == "activist_year" else "预备期满，可讨论转正"
            out.append((1, lim.due, f"{lim.due.isoformat()}{what}（{when(lim.due, today)}）"))
        elif lim.due < today and lim.rule == "probation":
            out.append((0, lim.due, f"预备期已于{lim.due.isoformat()}期满，尚未登记转正大会（{(today - lim.due).days}天）"))
    pub = record.get("publicity")
    if pub is not None and pub.end is not None and pub.end >= today and not record.has("committee_review"):
        out.append((1, pub.end, f"公示中，至{pub.end.isoformat()}（{when(pub.end, today)}）"))
    return out


def summary(record: Record, today: date) -> str:
    """One phrase for the person's place in the pipeline."""
    s = stage(record)
    if s == "入党申请人":
        return f"{record.day('application').isoformat()}申请"
    if s == "入党积极分子":
        a = record.day("activist")
        months = (today.year - a.year) * 12 + today.month - a.month - (today.day < a.day)
        return f"{a.isoformat()}确定，已培养{months}个月"
    if s == "发展对象":
        pub = record.get("publicity")
        if pub is not None and pub.end is not None and pub.end >= today:
            tail = f"，公示至{pub.end.isoformat()}"
        elif needs_publicity(record) and pub is None:
            tail = "，待公示"
        else:
            tail = ""
        return f"{record.day('object').isoformat()}确定{tail}"
    if s == "预备党员":
        return f"预备期至{probation_end(record).isoformat()}"
    if s == "已转正":
        return f"{record.day('conversion_approval').isoformat()}批准转正"
    return ""


def own_lines(record: Record, today: date) -> list[str]:
    """What the person in the pipeline sees of their own record: stage, steps done, the next step."""
    lines = [f"现在：{stage(record)}（{summary(record, today)}）"]
    done = sorted(record.milestones, key=lambda m: m.day)
    lines.append("已完成：" + "；".join(f"{step_title(m.step, record)} {m.day.isoformat()}" for m in done))
    nxt = next_steps(record)
    if nxt:
        n = nxt[0]
        title = "半年考察" if n.step == "review" else step_title(n.step, record)
        when_text = ""
        if n.latest is not None:
            when_text = f"，一般在{n.latest.isoformat()}前"
        elif n.earliest is not None and n.earliest > today:
            when_text = f"，{n.earliest.isoformat()}起"
        lines.append(f"下一步：{title}{when_text}。")
    return lines


def milestone_of(row: DevelopmentMilestone) -> Milestone:
    return Milestone(row.step, row.day, row.end_day, row.data or {})
