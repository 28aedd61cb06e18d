"""The 管理后台 web console through Flask's test client: the one-time link, its expiry, the session cookie, 退出,
the scope (another 党委's branch and another branch for a 书记 are 404), filters, sorting, the export, and sign-in
through WeCom's OAuth inside WeCom."""
from __future__ import annotations

import io
import re
import shutil
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.app import create_app
from bot.channels import console
from bot.demo import seed_demo_oversight
from bot.runtime import build_runtime
from storage.db import transaction
from storage.models import AuditLog, ConsoleLogin, Member, Organization, Role
from tests.conftest import make_settings, wecom_env

WXWORK_UA = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Mobile Safari/537.36 wxwork/4.1.22 MicroMessenger/7.0.1"


@pytest.fixture
def console_rt(dues_demo, clock):
    """The demo with dues and the four branches of 支部概况: 红 (第一: dues, 第三: term), 黄 (第二), 绿 (第四)."""
    with transaction(dues_demo.sessions) as s:
        seed_demo_oversight(s, clock().astimezone(dues_demo.settings.tz).date(), dues_demo.settings.tz)
    return dues_demo


@pytest.fixture
def client(console_rt):
    return create_app(runtime=console_rt).test_client()


def link_path(rt, user: str) -> str:
    reply = console.say(rt.router, user, "管理后台")[0]
    url = re.search(r"https?://\S+/console/login/\S+", reply)
    assert url, reply
    return urlsplit(url.group(0)).path


def sign_in(rt, client, user: str):
    resp = client.get(link_path(rt, user))
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/console")
    return resp


def branch_id(rt, name: str) -> int:
    with rt.reading() as s:
        return s.query(Organization).filter_by(name=name).one().id


def test_the_link_signs_in_once(console_rt, client):
    path = link_path(console_rt, "demo-dangwei")
    assert "请先登录" in client.get("/console").text
    assert client.head(path).status_code == 200  # a link checker's HEAD does not use the link up
    first = client.get(path)
    assert first.status_code == 303
    page = client.get("/console")
    assert page.status_code == 200
    for name in ("第一党支部", "第二党支部", "第三党支部", "第四党支部"):
        assert name in page.text
    assert "周敏" in page.text  # who is signed in
    client.delete_cookie("zhibu_console", path="/console")
    again = client.get(path)
    assert again.status_code == 410 and "已用过" in again.text
    with console_rt.reading() as s:
        assert s.scalar(select(func.count()).select_from(ConsoleLogin)) == 1
        logins = s.execute(select(AuditLog.actor, AuditLog.detail).where(AuditLog.action == "console.login")).all()
    assert [(a, d) for a, d in logins] == [("周敏", {"via": "link"})]  # the used link once, not its second try
    assert "请先登录" in client.get("/console").text


def test_the_link_expires_after_ten_minutes(console_rt, client, clock):
    path = link_path(console_rt, "demo-dangwei")
    clock.set(clock() + timedelta(minutes=10))
    expired = client.get(path)
    assert expired.status_code == 410 and "已过期" in expired.text
    fresh = link_path(console_rt, "demo-dangwei")
    clock.set(clock() + timedelta(minutes=9, seconds=59))
    assert client.get(fresh).status_code == 303
    clock.set(clock() + timedelta(minutes=11))
    sign_in(console_rt, client, "demo-shuji")
    with console_rt.reading() as s:  # the first use's record outlived its link and went with the next sign-in
        assert s.scalar(select(func.count()).select_from(ConsoleLogin)) == 1


def test_a_damaged_or_foreign_link_is_refused(console_rt, client):
    path = link_path(console_rt, "demo-dangwei")
    assert client.get(path[:-3] + "abc").status_code == 403
    assert client.get("/console/login/not-a-token").status_code == 403
    assert "登录链接无效" in client.get("/console/login/x.y").text


def test_cookie_flags_and_logout(console_rt, client):
    cookie = sign_in(console_rt, client, "demo-dangwei").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Max-Age=28800" in cookie
    assert "Secure" not in cookie  # the public URL is http here
    out = client.post("/console/logout")
    assert out.status_code == 200 and "已退出" in out.text
    assert "zhibu_console=;" in out.headers["Set-Cookie"]
    assert "请先登录" in client.get("/console").text
    assert client.get("/console/logout").status_code == 405  # 退出 is a POST (a link cannot sign anyone out)


def test_the_cookie_is_secure_behind_https(demo_db_template, tmp_path, clock, segmenter):
    shutil.copyfile(demo_db_template, tmp_path / "z.db")
    rt = build_runtime(make_settings(f"sqlite:///{tmp_path / 'z.db'}", ZHIBU_PUBLIC_URL="https://zhibu.example.cn"),
                       clock=clock, segmenter=segmenter)
    try:
        client = create_app(runtime=rt).test_client()
        reply = console.say(rt.router, "demo-dangwei", "管理后台")[0]
        assert "https://zhibu.example.cn/console/login/" in reply
        cookie = sign_in(rt, client, "demo-dangwei").headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie
    finally:
        rt.close()


def test_the_session_ends_after_eight_hours(console_rt, client, clock):
    sign_in(console_rt, client, "demo-dangwei")
    clock.set(clock() + timedelta(hours=8))
    assert "请先登录" in client.get("/console").text


def test_a_secretary_sees_only_their_branch(console_rt, client):
    sign_in(console_rt, client, "demo-shuji")
    page = client.get("/console").text
    assert "第一党支部" in page and "第二党支部" not in page and "第三党支部" not in page
    own = client.get(f"/console/branch/{branch_id(console_rt, '第一党支部')}")
    assert own.status_code == 200 and "王建国" in own.text
    other = client.get(f"/console/branch/{branch_id(console_rt, '第二党支部')}")
    assert other.status_code == 404 and "不在你管辖的范围内" in other.text and "第二党支部" not in other.text
    missing = client.get("/console/branch/999999")
    assert missing.status_code == 404 and missing.text == other.text  # the same as a branch that does not exist
    assert client.get("/console/branch/abc").status_code == 404


def test_another_party_committees_branch_is_not_found(console_rt, client):
    with transaction(console_rt.sessions) as s:
        other = Organization(name="另一党委", type="党委", settings={})
        s.add(other)
        s.flush()
        branch = Organization(name="另一党委第一支部", type="党支部", parent_id=other.id, settings={})
        s.add(branch)
        s.flush()
        admin = Member(name="他人", wecom_userid="other-admin", organization_id=other.id, category="正式")
        s.add(admin)
        s.flush()
        s.add(Role(member_id=admin.id, organization_id=other.id, role="上级管理员"))
        foreign = branch.id
    sign_in(console_rt, client, "demo-dangwei")
    assert "另一党委第一支部" not in client.get("/console").text
    assert client.get(f"/console/branch/{foreign}").status_code == 404
    mine = client.get(f"/console/branch/{branch_id(console_rt, '第三党支部')}")
    assert mine.status_code == 200
    assert "任期已届满 40 天未换届" in mine.text and "规范化自查" in mine.text


def rows_of(html: str) -> list[tuple[str, str]]:
    """(branch, status) in the order the overview table lists them."""
    return re.findall(r'<tr data-status="(.)">\s*<td class="name"><a href="/console/branch/\d+">([^<]+)</a>', html)


def test_overview_filter_and_sort(console_rt, client):
    sign_in(console_rt, client, "demo-dangwei")
    page = client.get("/console").text
    assert [n for _s, n in rows_of(page)] == ["第一党支部", "第三党支部", "第二党支部", "第四党支部"]  # worst first
    assert "1 名党员连续 6 个月未交党费" in page and "11月参与率 62%" in page and "各项正常" in page
    red = client.get("/console?status=红").text
    assert {n for _s, n in rows_of(red)} == {"第一党支部", "第三党支部"}
    by_name = client.get("/console?sort=name").text
    assert [n for _s, n in rows_of(by_name)] == sorted(n for _s, n in rows_of(page))
    quiet_desc = client.get("/console?sort=quiet&desc=1").text
    assert rows_of(quiet_desc)[0][1] == "第三党支部"  # 40 days without activity
    with console_rt.reading() as s:
        top = s.query(Organization).filter_by(name="示范机关党委").one().id
    assert len(rows_of(client.get(f"/console?parent={top}").text)) == 4
    assert rows_of(client.get("/console?parent=999999").text) == []
    # nonsense parameters are ignored, never an error
    for query in ("status=紫", "sort=drop", "parent=abc", "desc=yes", "sort=name&desc=1&status="):
        resp = client.get(f"/console?{query}")
        assert resp.status_code == 200 and len(rows_of(resp.text)) in (0, 4), query


def test_export_is_the_overview_as_xlsx(console_rt, client):
    sign_in(console_rt, client, "demo-dangwei")
    resp = client.get("/console/export.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(resp.data))
    # the same workbook as 导出概况 今年: the year, then its quarters and its months
    assert [ws.title for ws in wb.worksheets] == ["2026年", "按季度", "按月"]
    year = wb.worksheets[0]
    header = [c.value for c in year[1]]
    assert header[:3] == ["党支部", "状态", "原因"]
    rows = {r[0]: r for r in year.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"第一党支部", "第二党支部", "第三党支部", "第四党支部"}
    assert rows["第三党支部"][1] == "红" and "任期已届满 40 天未换届" in rows["第三党支部"][2]
    assert rows["第四党支部"][1] == "绿"
    month = load_workbook(io.BytesIO(client.get("/console/export.xlsx?period=上月").data))
    assert [ws.title for ws in month.worksheets] == ["2026年10月"]
    wrong = client.get("/console/export.xlsx?period=2026-13")
    assert wrong.status_code == 404 and "2026Q4" in wrong.text  # a bad period names the accepted forms
    client.post("/console/logout")
    assert client.get("/console/export.xlsx").mimetype == "text/html"  # signed out: the sign-in notice


def test_a_member_who_lost_the_role_loses_the_console(console_rt, client):
    sign_in(console_rt, client, "demo-shuji")
    with transaction(console_rt.sessions) as s:
        shuji = s.query(Member).filter_by(wecom_userid="demo-shuji").one()
        for role in list(shuji.roles):
            s.delete(role)
    assert "请先登录" in client.get("/console").text


@pytest.fixture
def wecom_console(demo_db_template, tmp_path, clock, segmenter, fake_wecom):
    shutil.copyfile(demo_db_template, tmp_path / "w.db")
    rt = build_runtime(make_settings(f"sqlite:///{tmp_path / 'w.db'}", **wecom_env(fake_wecom.url),
                                     ZHIBU_WECOM_OAUTH_URL=fake_wecom.oauth_url), clock=clock, segmenter=segmenter)
    yield rt, create_app(runtime=rt).test_client()
    rt.close()


def through_oauth(client, location: str, user: str):
    """Follow WeCom's login page (the fake's) back to the console's callback."""
    http = requests.Session()
    http.trust_env = False
    back = http.get(location, headers={"User-Agent": WXWORK_UA, "X-Fake-Wecom-User": user}, allow_redirects=False,
                    timeout=10)
    assert back.status_code == 302, back.text
    parts = urlsplit(back.headers["Location"])
    return client.get(f"{parts.path}?{parts.query}", headers={"User-Agent": WXWORK_UA})


def test_inside_wecom_the_console_signs_in_through_oauth(wecom_console):
    rt, client = wecom_console
    first = client.get("/console", headers={"User-Agent": WXWORK_UA})
    assert first.status_code == 302 and "/console/wecom/callback" in requests.utils.unquote(first.headers["Location"])
    done = through_oauth(client, first.headers["Location"], "demo-dangwei")
    assert done.status_code == 303
    page = client.get("/console", headers={"User-Agent": WXWORK_UA})
    assert page.status_code == 200 and "第一党支部" in page.text and "周敏" in page.text
    with rt.reading() as s:
        assert s.scalar(select(AuditLog.detail).where(AuditLog.action == "console.login")) == {"via": "wecom"}


def test_inside_wecom_a_member_is_refused(wecom_console):
    rt, client = wecom_console
    first = client.get("/console", headers={"User-Agent": WXWORK_UA})
    refused = through_oauth(client, first.headers["Location"], "demo-dangyuan")
    assert refused.status_code == 403 and "只给上级管理员和支部书记" in refused.text
    assert client.get("/console/wecom/callback?state=forged&code=x").status_code == 403
    assert client.get("/console/nowhere/callback").status_code == 404


def test_pages_use_a_fixed_number_of_queries(console_rt, client):
    """More branches, the same number of statements: the overview and a branch page never query per branch."""
    from sqlalchemy import event

    sign_in(console_rt, client, "demo-dangwei")
    third = branch_id(console_rt, "第三党支部")

    def statements() -> dict[str, int]:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        out = {}
        event.listen(console_rt.engine, "before_cursor_execute", count)
        try:
            for path in ("/console", f"/console/branch/{third}", "/console/export.xlsx"):
                seen.clear()
                assert client.get(path).status_code == 200
                out[path] = len(seen)
        finally:
            event.remove(console_rt.engine, "before_cursor_execute", count)
        return out

    before = statements()
    with transaction(console_rt.sessions) as s:
        top = s.query(Organization).filter_by(name="示范机关党委").one()
        for i in range(6):
            org = Organization(name=f"新增第{i}党支部", type="党支部", parent_id=top.id, settings={})
            s.add(org)
            s.flush()
            s.add(Member(name=f"新党员{i}", organization_id=org.id, category="正式"))
    after = statements()
    assert after == before
    assert "新增第5党支部" in client.get("/console").text


ODD_REQUESTS = ("/console/login/", "/console/login/" + "a" * 5000, "/console/login/e30.e30",
                "/console/branch/0", "/console/branch/-1", "/console/branch/" + "9" * 40, "/console/branch/1.5",
                "/console?sort=%00&status=%FF&parent=" + "9" * 40, "/console?desc=1&desc=0&sort=term",
                "/console/export.xlsx?status=红", "/console/wecom/callback?code=x&state=y", "/console/logout")


def test_odd_requests_never_fail(console_rt, client):
    for signed in (False, True):
        if signed:
            sign_in(console_rt, client, "demo-shuji")
        for path in ODD_REQUESTS:
            resp = client.get(path)
            assert resp.status_code < 500, (path, resp.status_code)
            if resp.mimetype == "text/html":
                assert "<html" in resp.text, path
        client.set_cookie("zhibu_console", "forged.value", path="/console")
        assert "请先登录" in client.get("/console").text


def test_the_branch_page_shows_the_selfcheck_as_chat_does(console_rt, client):
    chat = console.say(console_rt.router, "demo-dangwei", "规范化自查 第三党支部")[0]
    score = re.search(r"得分 (\d+/\d+ 分)", chat).group(1)
    sign_in(console_rt, client, "demo-dangwei")
    page = client.get(f"/console/branch/{branch_id(console_rt, '第三党支部')}").text
    assert f'<strong id="selfcheck-score">{score}</strong>' in page
    first_fix = re.search(r"先改这些（未达标，分值高的在前）：\n1\. ([^（]+)（", chat).group(1)
    assert first_fix in page


def test_a_broken_selfcheck_standard_is_said_on_the_page(console_rt, client, tmp_path, monkeypatch):
    from reminders.selfcheck_standard import load_standard

    broken = tmp_path / "broken.yaml"
    broken.write_text("title: [\n", "utf-8")
    monkeypatch.setattr("reminders.selfcheck_state.load_standard", lambda: load_standard(broken))
    sign_in(console_rt, client, "demo-dangwei")
    resp = client.get(f"/console/branch/{branch_id(console_rt, '第一党支部')}")
    assert resp.status_code == 200
    assert "规范化自查标准文件有问题" in resp.text and "第一党支部" in resp.text
