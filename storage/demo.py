"""The demo organisation: fixed ids so that everyone can try the same things. Seeding is idempotent."""
from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy.orm import Session

from storage.roster import MEMBER_COLUMNS, MEMBER_SHEET, ORG_COLUMNS, ORG_SHEET, ImportResult, _sheet, import_roster

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


def seed_demo(session: Session) -> ImportResult:
    wb = Workbook()
    _sheet(wb, ORG_SHEET, ORG_COLUMNS, ORGS, first=True)
    _sheet(wb, MEMBER_SHEET, MEMBER_COLUMNS, member_rows())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.xlsx"
        wb.save(path)
        return import_roster(session, path, actor="示例数据")


def demo_ids_text() -> str:
    lines = ["可以用这些账号试用（企业微信和钉钉账号相同）："]
    lines += [f"  {uid:<14} {name}（{org}{('，' + roles) if roles else ('，' + cat + '党员')}）"
              for uid, name, org, cat, _, _, roles in KEY_PEOPLE]
    return "\n".join(lines)
