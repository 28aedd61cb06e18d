"""The demo organisation: fixed ids so that everyone can try the same things. Seeding is idempotent."""
from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders.state import load_calendar
from reminders.workdays import Calendar
from storage.development import PersonInfo, create_record, enter, find_named, update_person
from storage.development_rules import Milestone
from storage.dues import month_key, months_between, previous_month
from storage.models import DuesPayment, DuesRate, Member, utcnow
from storage.months import add_months
from storage.orgs import find_org
from storage.roster import MEMBER_COLUMNS, MEMBER_SHEET, ORG_COLUMNS, ORG_SHEET, ImportResult, import_roster
from storage.sheets import styled_sheet

PARTY_COMMITTEE, BRANCH_1, BRANCH_2 = "示范机关党委", "第一党支部", "第二党支部"

ORGS = [
    [PARTY_COMMITTEE, "", "党委", None, None],
    [BRANCH_1, PARTY_COMMITTEE, "党支部", date(2024, 6, 15), 3],
    [BRANCH_2, PARTY_COMMITTEE, "党支部", date(2023, 12, 20), 3],
]

# (id, name, branch, category, joined, full member on, roles); the id is both the WeCom and the DingTalk account
KEY_PEOPLE = [
    ("demo-shuji", "王建国", BRANCH_1, "正式", date(2001, 7, 1), date(2002, 7, 1), "书记"),
    ("demo-zuzhi", "李红梅", BRANCH_1, "正式", date(2008, 6, 20), date(2009, 6, 20), "组织委员"),
    ("demo-dangyuan", "张伟", BRANCH_1, "正式", date(2015, 11, 12), date(2016, 11, 12), ""),
    ("demo-yubei", "陈晨", BRANCH_1, "预备", date(2026, 3, 1), None, ""),
    ("demo-shuji2", "刘洋", BRANCH_2, "正式", date(2005, 12, 3), date(2006, 12, 3), "书记"),
    ("demo-dangwei", "周敏", PARTY_COMMITTEE, "正式", date(1998, 4, 15), date(1999, 4, 15), "上级管理员"),
]

OTHERS_1 = [("赵静", "宣传委员"), ("孙磊", "纪检委员"), ("吴芳", "党费管理员"), ("郑强", ""), ("冯丽", ""),
            ("何军", ""), ("马超", ""), ("黄蕾", "")]
OTHERS_2 = [("高峰", "组织委员、党费管理员"), ("林琳", ""), ("罗刚", ""), ("谢婷", ""), ("韩雪", ""), ("唐亮", ""),
            ("曹阳", "")]


def member_rows() -> list[list[object]]:
    rows: list[list[object]] = []
    for i, (uid, name, org, cat, joined, full, roles) in enumerate(KEY_PEOPLE):
        rows.append([name, f"1390000{i:04d}", uid, uid, org, cat, joined, full, roles])
    for j, (branch, people) in enumerate(((BRANCH_1, OTHERS_1), (BRANCH_2, OTHERS_2)), start=1):
        for k, (name, roles) in enumerate(people, start=1):
            uid = f"demo-b{j}-{k:02d}"
            joined = date(2000 + (k * 3 + j) % 24, (k * 5) % 12 + 1, 1)
            rows.append([name, f"1390{j:03d}{k:04d}", uid, uid, branch, "正式", joined,
                         joined.replace(year=joined.year + 1), roles])
    return rows


def seed_demo(session: Session, today: date | None = None) -> ImportResult:
    """The roster and the 发展党员 pipeline; with `today`, also this year's dues as of that day (tests pass their
    frozen clock's date). The pipeline is laid out around `today`, else around DEMO_DAY."""
    wb = Workbook()
    styled_sheet(wb, ORG_SHEET, ORG_COLUMNS, ORGS, first=True)
    styled_sheet(wb, MEMBER_SHEET, MEMBER_COLUMNS, member_rows())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.xlsx"
        wb.save(path)
        result = import_roster(session, path, actor="示例数据")
    seed_demo_development(session, today or DEMO_DAY)
    if today is not None:
        seed_demo_dues(session, today)
    return result


# demo dues: everyone's amount fixed for this year and paid up to last month, except one member three months
# behind and one six months behind (both in 第一党支部, so its secretary's 未交党费 shows both levels)
DUES_BEHIND = {"demo-b1-04": 3, "demo-b1-06": 6}
DEMO_BASES = (4200, 6500, 8800, 12000, 3000, 5600, 9800, 4800, 7300)


def seed_demo_dues(session: Session, today: date) -> tuple[int, int]:
    """Idempotent: adds only the rates and payments that are missing. Returns (rates added, payments added)."""
    from handlers.dues_calculator import RETIRED, WAGE, calculate

    year, last = today.year, previous_month(today)
    ids = [row[2] for row in member_rows()]
    members = list(session.scalars(select(Member).where(Member.wecom_userid.in_(ids), Member.status == "active")
                                   .order_by(Member.id)))
    existing_rates = set(session.scalars(select(DuesRate.member_id).where(DuesRate.year == year)))
    paid = {(member_id, month) for member_id, month in session.execute(
        select(DuesPayment.member_id, DuesPayment.month).where(DuesPayment.member_id.in_([m.id for m in members])))}
    rates_added = payments_added = 0
    for i, m in enumerate(members):
        category = RETIRED if m.wecom_userid == "demo-dangwei" else WAGE
        fixed = calculate(category, DEMO_BASES[i % len(DEMO_BASES)])
        if m.id not in existing_rates:
            session.add(DuesRate(member_id=m.id, year=year, base_category=category,
                                 base_fen=DEMO_BASES[i % len(DEMO_BASES)] * 100, monthly_fen=fixed.monthly_fen))
            rates_added += 1
        first = max(month_key(m.joined_on), f"{year:04d}-01") if m.joined_on else f"{year:04d}-01"
        due = months_between(first, last) if last.startswith(f"{year:04d}") else []
        behind = DUES_BEHIND.get(m.wecom_userid, 0)
        for month in due[:len(due) - behind]:
            if (m.id, month) in paid:
                continue
            paid_on = min(date(int(month[:4]), int(month[5:]), 20), today)
            session.add(DuesPayment(member_id=m.id, month=month, amount_fen=fixed.monthly_fen, paid_on=paid_on,
                                    source="manual"))
            payments_added += 1
    session.flush()
    return rates_added, payments_added


def demo_ids_text() -> str:
    lines = ["可以用这些账号试用（企业微信和钉钉账号相同）："]
    lines += [f"  {uid:<14} {name}（{org}{('，' + roles) if roles else ('，' + cat + '党员')}）"
              for uid, name, org, cat, _, _, roles in KEY_PEOPLE]
    lines += [f"  {uid:<14} {name}（{BRANCH_1}，{what}，不在党员名单中，可发送“我的入党进度”）"
              for uid, name, what in PIPELINE_PEOPLE]
    return "\n".join(lines)


# --- 发展党员: the pipeline of 第一党支部 ------------------------------------------------------------------------------
DEMO_DAY = date(2026, 11, 24)  # the tests' frozen day
PIPELINE_PEOPLE = [("demo-shenqing", "杨帆", "入党申请人"), ("demo-jiji", "许诺", "入党积极分子"),
                   ("demo-fazhan", "宋佳", "发展对象")]


def demo_pipeline(today: date, cal: Calendar) -> list[tuple[str, str, date, list[Milestone]]]:
    """(name, account, birth date, milestones): an applicant whose talk is due in a week, an activist 11 months
    in, a 发展对象 in 公示, and 陈晨 (demo-yubei, already in the roster) whose 预备期 ends 2027-03-01."""
    m, d = Milestone, timedelta
    applied = add_months(today + d(days=7), -1)
    activist = add_months(today, -11)
    obj = today - d(days=14)
    obj_activist = add_months(obj, -20)
    upper = obj + d(days=7)
    publicity = max(cal.previous(today - d(days=2)), upper)
    return [
        ("杨帆", "demo-shenqing", date(2001, 8, 15), [m("application", applied)]),
        ("许诺", "demo-jiji", date(1999, 4, 2), [
            m("application", add_months(activist, -3)), m("talk", add_months(activist, -3) + d(days=14)),
            m("activist", activist), m("activist_filed", activist + d(days=7)),
            m("contacts", activist, data={"names": ["李红梅"]}), m("review", add_months(activist, 6) - d(days=4))]),
        ("宋佳", "demo-fazhan", date(2000, 2, 20), [
            m("application", add_months(obj_activist, -4)), m("talk", add_months(obj_activist, -4) + d(days=10)),
            m("activist", obj_activist), m("activist_filed", obj_activist + d(days=5)),
            m("contacts", obj_activist, data={"names": ["张伟"]}),
            *(m("review", add_months(obj_activist, 6 * k) - d(days=3)) for k in (1, 2, 3)),
            m("object", obj), m("object_upper", upper), m("publicity", publicity)]),
        ("陈晨", "demo-yubei", date(1998, 9, 12), [
            m("application", date(2024, 3, 5)), m("talk", date(2024, 3, 20)), m("activist", date(2024, 6, 14)),
            m("activist_filed", date(2024, 6, 20)), m("contacts", date(2024, 6, 14), data={"names": ["李红梅", "张伟"]}),
            m("review", date(2024, 12, 10)), m("review", date(2025, 6, 10)), m("object", date(2025, 6, 20)),
            m("object_upper", date(2025, 6, 25)), m("introducers", date(2025, 7, 1), data={"names": ["李红梅", "张伟"]}),
            m("political_review", date(2025, 9, 15), data={"conclusion": "合格"}),
            m("training", date(2025, 10, 20), date(2025, 10, 22), {"days": 3}),
            m("committee_review", date(2026, 1, 10)), m("prereview", date(2026, 1, 20)),
            m("volunteer_form", date(2026, 2, 5)),
            m("branch_meeting", date(2026, 3, 1), data={"due": 11, "present": 10, "yes": 10}),
            m("upper_talk", date(2026, 3, 10)), m("approval", date(2026, 3, 25)), m("upper_filed", date(2026, 4, 2)),
            m("oath", date(2026, 4, 10))]),
    ]


def seed_demo_development(session: Session, today: date) -> int:
    """Idempotent: a person already recorded in the branch is left as they are. Returns the records added.
    Every date goes through the rules as a secretary's entry would."""
    org = find_org(session, BRANCH_1)
    cal = Calendar(load_calendar(session))
    added = 0
    for name, account, birth, milestones in demo_pipeline(today, cal):
        if find_named(session, [org.id], name):
            continue
        record = create_record(session, org, name, utcnow())
        update_person(session, record, PersonInfo(birth=birth, wecom=account, dingtalk=account))
        for milestone in milestones:
            if milestone.day > today:  # a clock set before the demo's fixed dates: the record as far as it goes
                break
            enter(session, record, milestone, today=today, cal=cal, actor="示例数据", at=utcnow(), audit=False)
        added += 1
    session.flush()
    return added


# --- the 党委's overview: a year of meetings, a quiet branch and a branch in good order ----------------------------
BRANCH_3, BRANCH_4 = "第三党支部", "第四党支部"
QUIET_DAYS = 40
# (account, name, branch, role): the branches the overview seeding adds
OVERSIGHT_PEOPLE = [
    ("demo-shuji3", "钱进", BRANCH_3, "书记"), ("demo-b3-01", "蒋丽", BRANCH_3, "组织委员"),
    ("demo-b3-02", "沈涛", BRANCH_3, ""), ("demo-b3-03", "韦娜", BRANCH_3, ""), ("demo-b3-04", "秦勇", BRANCH_3, ""),
    ("demo-shuji4", "尤佳", BRANCH_4, "书记"), ("demo-b4-01", "许杰", BRANCH_4, "组织委员"),
    ("demo-b4-02", "何平", BRANCH_4, "宣传委员"), ("demo-b4-03", "吕燕", BRANCH_4, ""),
    ("demo-b4-04", "施伟", BRANCH_4, ""), ("demo-b4-05", "张敏", BRANCH_4, ""),
]


def seed_demo_oversight(session: Session, today: date, tz=None) -> int:
    """What `支部概况` needs to show all three colours (used by `zhibu demo`; idempotent, returns meetings added):
    第一、第二、第四党支部 hold their 主题党日 + 支委会 every month for a year (党员大会 + 党课 in each quarter's last
    month, 组织生活会 + 民主评议 last December), with sign-ins; 第二党支部's latest one is thinly attended;
    第三党支部 has been quiet for 40 days and its committee term ended last month; 第四党支部 is in order."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from storage.models import Attendance, CommitteeTerm, Meeting, MeetingKind, Organization, Role

    tz = tz or ZoneInfo("Asia/Shanghai")
    if find_org(session, BRANCH_3) is not None:
        return 0
    top = find_org(session, PARTY_COMMITTEE)
    last_month = add_months(date(today.year, today.month, 1), -1)
    ends = date(last_month.year, last_month.month, 15)
    new_orgs = {}
    for name, elected, years in ((BRANCH_3, date(ends.year - 3, ends.month, ends.day), 3),
                                 (BRANCH_4, date(today.year - 1, 3, 10), 3)):
        org = Organization(name=name, type="党支部", parent_id=top.id, settings={})
        session.add(org)
        session.flush()
        session.add(CommitteeTerm(organization_id=org.id, elected_on=elected, term_years=years,
                                  ends_on=date(elected.year + years, elected.month, elected.day)))
        new_orgs[name] = org
    for i, (uid, name, branch, role) in enumerate(OVERSIGHT_PEOPLE):
        joined = date(2005 + i, (i % 12) + 1, 1)
        m = Member(name=name, mobile=f"1391000{i:04d}", wecom_userid=uid, dingtalk_userid=uid,
                   organization_id=new_orgs[branch].id, category="正式", joined_on=joined,
                   full_member_on=joined.replace(year=joined.year + 1))
        session.add(m)
        session.flush()
        if role:
            session.add(Role(member_id=m.id, organization_id=new_orgs[branch].id, role=role))
    session.flush()

    def add_meeting(org: Organization, day: date, kinds: tuple[str, ...], absent: int) -> None:
        starts = datetime.combine(day, time(9, 0), tzinfo=tz)
        meeting = Meeting(organization_id=org.id, title="+".join(kinds), starts_at=starts, place="党员活动室",
                          signin_opens_at=starts - timedelta(minutes=30), signin_closes_at=starts + timedelta(hours=2),
                          code=None, status="closed")
        meeting.kind_rows = [MeetingKind(kind=k) for k in kinds]
        session.add(meeting)
        session.flush()
        people = list(session.scalars(select(Member).where(Member.organization_id == org.id,
                                                          Member.status == "active").order_by(Member.id)))
        for k, p in enumerate(people):
            session.add(Attendance(meeting_id=meeting.id, member_id=p.id, at=starts,
                                   status="absent" if k >= len(people) - absent else "present", via="manual"))

    added = 0
    first = add_months(date(today.year, today.month, 1), -12)
    quiet_since = today - timedelta(days=QUIET_DAYS)
    for name in (BRANCH_1, BRANCH_2, BRANCH_4):
        org = find_org(session, name)
        month = first
        while True:
            day = date(month.year, month.month, 20)
            if day > today:
                break
            kinds = ("主题党日", "支委会") + (("党员大会", "党课") if month.month % 3 == 0 else ())
            latest = add_months(day, 1) > today
            add_meeting(org, day, kinds, absent=3 if (latest and name == BRANCH_2) else 1)
            added += 1
            if month.month == 12:
                add_meeting(org, date(month.year, 12, 26), ("组织生活会", "民主评议"), absent=0)
                added += 1
            month = add_months(month, 1)
    add_meeting(new_orgs[BRANCH_3], quiet_since, ("主题党日", "支委会"), absent=1)
    session.flush()
    return added + 1


def oversight_ids_text() -> str:
    return "\n".join(f"  {uid:<14} {name}（{branch}，{role}）" for uid, name, branch, role in OVERSIGHT_PEOPLE
                     if role == "书记")
