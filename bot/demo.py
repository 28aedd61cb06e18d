"""The demo organisation: fixed ids so that everyone can try the same things. Seeding is idempotent."""
from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.dues import month_key, months_between, previous_month
from storage.models import DuesPayment, DuesRate, Member
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
    """The roster; with `today`, also this year's dues as of that day (tests pass their frozen clock's date)."""
    wb = Workbook()
    styled_sheet(wb, ORG_SHEET, ORG_COLUMNS, ORGS, first=True)
    styled_sheet(wb, MEMBER_SHEET, MEMBER_COLUMNS, member_rows())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.xlsx"
        wb.save(path)
        result = import_roster(session, path, actor="示例数据")
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
    return "\n".join(lines)
