"""Roster import/export: every validation, all-or-nothing, upsert idempotence, the round trip, CSV encodings."""
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from storage.db import make_engine, make_session_factory, transaction, upgrade
from storage.models import AuditLog, CommitteeTerm, Member, Organization, Role
from storage.roster import (
    MEMBER_COLUMNS,
    ORG_COLUMNS,
    RosterError,
    export_roster,
    find_for_removal,
    import_roster,
    parse_date,
    remove_member,
    write_template,
)

ORGS = [
    ["测试机关党委", "", "党委", None, None],
    ["一支部", "测试机关党委", "党支部", date(2024, 6, 15), 3],
    ["二支部", "测试机关党委", "党支部", "2023/12/20", "3"],
]


def person(name, mobile, org="一支部", cat="正式", joined=date(2010, 7, 1), full=date(2011, 7, 1), roles="",
           wecom="", ding=""):
    return [name, mobile, wecom, ding, org, cat, joined, full, roles]


MEMBERS = [
    person("甲书记", "13900000001", roles="书记", wecom="jia"),
    person("乙委员", "13900000002", roles="组织委员、党费管理员", ding="yi"),
    person("丙党员", "13900000003", cat="预备", joined=date(2026, 3, 1), full=None),
    person("丁书记", "13900000004", org="二支部", roles="书记"),
]


def workbook(path: Path, orgs=ORGS, members=MEMBERS, org_cols=ORG_COLUMNS, member_cols=MEMBER_COLUMNS) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "党组织"
    ws.append(list(org_cols))
    for r in orgs:
        ws.append(r)
    ws = wb.create_sheet("党员")
    ws.append(list(member_cols))
    for r in members:
        ws.append(r)
    wb.save(path)
    return path


@pytest.fixture
def sessions(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def snapshot(sessions):
    with transaction(sessions) as s:
        orgs = sorted((o.name, o.type, o.parent.name if o.parent else None) for o in s.scalars(select(Organization)))
        members = sorted((m.name, m.mobile, m.wecom_userid, m.dingtalk_userid, m.organization.name, m.category,
                          m.joined_on, m.full_member_on, m.status, tuple(sorted(r.role for r in m.roles)))
                         for m in s.scalars(select(Member)))
        terms = sorted((t.organization.name, t.elected_on, t.term_years, t.ends_on) for t in s.scalars(select(CommitteeTerm)))
    return orgs, members, terms


def do_import(sessions, path):
    with transaction(sessions) as s:
        return import_roster(s, path)


def errors_of(sessions, path) -> list[str]:
    before = snapshot(sessions)
    with pytest.raises(RosterError) as info:
        do_import(sessions, path)
    assert snapshot(sessions) == before, "a refused file must change nothing"
    return info.value.errors


def test_import_creates_orgs_members_roles_terms(sessions, tmp_path):
    result = do_import(sessions, workbook(tmp_path / "a.xlsx"))
    assert (result.orgs_created, result.members_created) == (3, 4)
    orgs, members, terms = snapshot(sessions)
    assert ("一支部", "党支部", "测试机关党委") in orgs
    assert ("乙委员", "13900000002", None, "yi", "一支部", "正式", date(2010, 7, 1), date(2011, 7, 1), "active",
            ("党费管理员", "组织委员")) in members
    assert ("二支部", date(2023, 12, 20), 3, date(2026, 12, 20)) in terms
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "roster.import")) == 1


def test_reimport_is_idempotent_and_updates_in_place(sessions, tmp_path):
    path = workbook(tmp_path / "a.xlsx")
    do_import(sessions, path)
    first = snapshot(sessions)
    again = do_import(sessions, path)
    assert snapshot(sessions) == first
    assert (again.members_created, again.members_updated, again.unchanged) == (0, 0, 4)
    # matched by platform account: a new mobile updates the same person
    changed = [person("甲书记", "13900000099", roles="书记", wecom="jia"), *MEMBERS[1:]]
    result = do_import(sessions, workbook(tmp_path / "b.xlsx", members=changed))
    assert (result.members_created, result.members_updated) == (0, 1)
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 4
        assert s.scalars(select(Member).where(Member.wecom_userid == "jia")).one().mobile == "13900000099"


def test_people_absent_from_the_file_are_left_alone(sessions, tmp_path):
    do_import(sessions, workbook(tmp_path / "a.xlsx"))
    do_import(sessions, workbook(tmp_path / "b.xlsx", members=[MEMBERS[0], MEMBERS[3]]))
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(Member).where(Member.status == "active")) == 4


def test_export_then_import_changes_nothing(sessions, tmp_path):
    do_import(sessions, workbook(tmp_path / "a.xlsx"))
    before = snapshot(sessions)
    out = tmp_path / "export.xlsx"
    with transaction(sessions) as s:
        assert export_roster(s, out) == (3, 4)
    wb = load_workbook(out)
    assert [c.value for c in wb["党组织"][1]] == list(ORG_COLUMNS)
    assert [c.value for c in wb["党员"][1]] == list(MEMBER_COLUMNS)
    assert [c.value for c in wb["党员"][3]][:6] == ["乙委员", "13900000002", None, "yi", "一支部", "正式"]
    assert wb["党员"][3][8].value == "组织委员、党费管理员"
    result = do_import(sessions, out)
    assert snapshot(sessions) == before
    assert (result.orgs_created, result.orgs_updated, result.members_created, result.members_updated) == (0, 0, 0, 0)


def test_template_imports_cleanly(sessions, tmp_path):
    path = tmp_path / "template.xlsx"
    write_template(path)
    wb = load_workbook(path)
    assert wb.sheetnames[:2] == ["党组织", "党员"]
    result = do_import(sessions, path)
    assert result.members_created == 2


BAD_ROWS = [
    # (description, org rows, member rows, expected fragment of the one error)
    ("unknown org type", [*ORGS, ["三支部", "测试机关党委", "支部", None, None]], MEMBERS, "「党组织」表第 5 行「类型」列"),
    ("unknown parent", [*ORGS, ["三支部", "不存在党委", "党支部", None, None]], MEMBERS, "找不到“不存在党委”"),
    ("bad election date", [*ORGS[:2], ["二支部", "测试机关党委", "党支部", "去年", 3]], MEMBERS, "「支委会选举日期」列"),
    ("bad term", [*ORGS[:2], ["二支部", "测试机关党委", "党支部", date(2023, 1, 1), "十"]], MEMBERS, "「任期年限」列"),
    ("org listed twice", [*ORGS, ORGS[1]], MEMBERS, "与第 3 行重复"),
    ("group under a committee", [*ORGS, ["甲小组", "测试机关党委", "党小组", None, None]], MEMBERS, "党小组的上级应为党支部"),
    ("unknown member org", ORGS, [*MEMBERS, person("戊", "13900000005", org="三支部")], "「党员」表第 6 行「所在党组织」列"),
    ("bad mobile", ORGS, [*MEMBERS, person("戊", "1390000")], "「手机号」列：“1390000”不是 11 位手机号"),
    ("no way to identify", ORGS, [*MEMBERS, person("戊", "")], "至少填一项"),
    ("bad category", ORGS, [*MEMBERS, person("戊", "13900000005", cat="积极分子")], "「党员类别」列"),
    ("bad joined date", ORGS, [*MEMBERS, person("戊", "13900000005", joined="2020-13-01")], "「入党日期」列"),
    ("missing joined date", ORGS, [*MEMBERS, person("戊", "13900000005", joined=None)], "「入党日期」列：不能为空"),
    ("probationary with full date", ORGS, [*MEMBERS, person("戊", "13900000005", cat="预备")], "预备党员还没有转正"),
    ("unknown role", ORGS, [*MEMBERS, person("戊", "13900000005", roles="宣传委员、团支书")], "“团支书”不是可识别的职务"),
    ("person twice", ORGS, [*MEMBERS, person("甲书记", "13900000001")], "与第 2 行重复"),
    ("branch without secretary", ORGS, [m for m in MEMBERS if m[0] != "丁书记"] + [person("丁", "13900000004", org="二支部")],
     "党支部“二支部”没有书记"),
    ("empty name", ORGS, [*MEMBERS, person("", "13900000005")], "「姓名」列：不能为空"),
]


@pytest.mark.parametrize("desc,orgs,members,fragment", BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_each_validation_refuses_the_whole_file(sessions, tmp_path, desc, orgs, members, fragment):
    errors = errors_of(sessions, workbook(tmp_path / "bad.xlsx", orgs=orgs, members=members))
    assert any(fragment in e for e in errors), errors


def test_one_bad_row_imports_nothing_on_an_existing_database(sessions, tmp_path):
    do_import(sessions, workbook(tmp_path / "a.xlsx"))
    members = [person("甲书记", "13900000001", roles="书记", wecom="jia2"), *MEMBERS[1:],
               person("戊", "13900000005"), person("己", "12345")]
    errors = errors_of(sessions, workbook(tmp_path / "b.xlsx", members=members))
    assert len(errors) == 1 and "第 7 行" in errors[0]


def test_a_row_pointing_at_two_people_is_refused(sessions, tmp_path):
    do_import(sessions, workbook(tmp_path / "a.xlsx"))
    clash = [person("甲书记", "13900000002", roles="书记", wecom="jia"), *MEMBERS[1:]]
    errors = errors_of(sessions, workbook(tmp_path / "b.xlsx", members=clash))
    assert any("请核对" in e for e in errors)


def test_unknown_column_and_missing_sheet(sessions, tmp_path):
    cols = (*MEMBER_COLUMNS[:-1], "岗位")
    errors = errors_of(sessions, workbook(tmp_path / "c.xlsx", member_cols=cols))
    assert any("「岗位」列：无法识别的列名" in e for e in errors)
    wb = Workbook()
    wb.active.title = "Sheet1"
    wb.save(tmp_path / "empty.xlsx")
    assert any("没有「党组织」或「党员」工作表" in e for e in errors_of(sessions, tmp_path / "empty.xlsx"))
    (tmp_path / "x.txt").write_text("hi")
    assert any("不支持的文件类型" in e for e in errors_of(sessions, tmp_path / "x.txt"))


def test_warnings_do_not_block(sessions, tmp_path):
    orgs = [*ORGS, ["三支部", "测试机关党委", "党支部", None, None], ["甲小组", "一支部", "党小组", None, None]]
    many = [person(f"三{i}", f"1391000{i:04d}", org="三支部", roles="书记" if i == 0 else "") for i in range(8)]
    group = [person("小组长", "13920000001", org="甲小组", roles="党小组长")]
    result = do_import(sessions, workbook(tmp_path / "w.xlsx", orgs=orgs, members=[*MEMBERS, *many, *group]))
    text = "\n".join(result.warnings)
    assert "三支部有 8 名正式党员，应设立支部委员会" in text
    assert "党小组“甲小组”只有 1 名党员" in text
    big = [person(f"大{i}", f"1393000{i:04d}", roles="书记" if i == 0 else "") for i in range(51)]
    result = do_import(sessions, workbook(tmp_path / "big.xlsx", members=[*MEMBERS[1:], *big]))
    assert any("超过 50 人" in w for w in result.warnings)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_csv_in_the_encodings_excel_saves(sessions, tmp_path, encoding):
    do_import(sessions, workbook(tmp_path / "a.xlsx"))
    lines = [",".join(MEMBER_COLUMNS), "戊同志,13900000005,wu,,一支部,正式,2019/7/1,2020年7月1日,",
             "甲书记,13900000001,jia,,一支部,正式,2010-07-01,2011-07-01,书记"]
    path = tmp_path / "members.csv"
    path.write_bytes("\r\n".join(lines).encode(encoding))
    result = do_import(sessions, path)
    assert (result.members_created, result.unchanged) == (1, 1)
    with transaction(sessions) as s:
        wu = s.scalars(select(Member).where(Member.wecom_userid == "wu")).one()
        assert (wu.name, wu.joined_on, wu.full_member_on) == ("戊同志", date(2019, 7, 1), date(2020, 7, 1))


def test_csv_naming_an_unknown_org_is_refused(sessions, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(",".join(MEMBER_COLUMNS) + "\n戊,13900000005,,,五支部,正式,2019-07-01,2020-07-01,\n", "utf-8")
    assert any("找不到“五支部”" in e for e in errors_of(sessions, path))


@pytest.mark.parametrize("value,expected", [
    (datetime(2024, 6, 15, 0, 0), date(2024, 6, 15)), ("2024-06-15", date(2024, 6, 15)),
    ("2024/6/15", date(2024, 6, 15)), ("2024.6.15", date(2024, 6, 15)), ("2024年6月15日", date(2024, 6, 15)),
    (45458, date(2024, 6, 15)), ("45458", date(2024, 6, 15)), ("2024-06-15 00:00:00", date(2024, 6, 15)),
])
def test_dates_in_excel_forms(value, expected):
    assert parse_date(value) == expected


def test_remove_is_explicit_and_audited(sessions, tmp_path):
    do_import(sessions, workbook(tmp_path / "a.xlsx"))
    with transaction(sessions) as s:
        [m] = find_for_removal(s, "丙党员")
        remove_member(s, m, "组织关系转出")
    with transaction(sessions) as s:
        m = s.scalars(select(Member).where(Member.name == "丙党员")).one()
        assert m.status == "removed"
        log = s.scalars(select(AuditLog).where(AuditLog.action == "roster.remove")).one()
        assert log.target == "丙党员" and log.detail["reason"] == "组织关系转出"
        assert s.scalar(select(func.count()).select_from(Role).where(Role.member_id == m.id)) == 0
