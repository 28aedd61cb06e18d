"""The 管理后台 in headless Chromium, served on loopback by a real server thread: the sign-in link from chat, the
overview and a branch page at a phone's width (375 px) and a desktop's (1280 px). The branch names, statuses and
reasons are read from the rendered page; screenshots are saved under test-artifacts/ (not committed)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.demo import seed_demo_dues, seed_demo_oversight
from bot.messages import Incoming
from bot.runtime import build_runtime
from storage.db import transaction
from tests.browser import Browser, chromium_path, serving
from tests.conftest import make_settings

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = pytest.mark.skipif(chromium_path() is None,
                                reason="没有 chromium：apt-get install -y chromium 后可运行管理后台的浏览器测试")


@pytest.fixture
def served(demo_db_template, tmp_path, clock, segmenter):
    def make_runtime(url: str, base: str):
        rt = build_runtime(make_settings(url, ZHIBU_PUBLIC_URL=base), clock=clock, segmenter=segmenter)
        today = clock().astimezone(rt.settings.tz).date()
        with transaction(rt.sessions) as s:
            seed_demo_dues(s, today)
            seed_demo_oversight(s, today, rt.settings.tz)
        return rt
    with serving(demo_db_template, tmp_path, make_runtime) as (rt, base):
        yield rt, base


def link_for(rt, user: str) -> str:
    reply = rt.router.handle(Incoming(platform="wecom", user_id=user, text="管理后台", message_id=f"console-{user}"))
    return re.search(r"http://\S+/console/login/\S+", reply.text).group(0)


def table_rows(browser) -> list[list[str]]:
    return browser.eval("""Array.from(document.querySelectorAll('#overview tbody tr')).map(
        tr => Array.from(tr.cells).slice(0, 4).map(td => td.innerText.trim()))""")


@pytest.mark.parametrize("width", [375, 1280])
def test_console_in_headless_chromium(served, tmp_path, width):
    rt, base = served
    ARTIFACTS.mkdir(exist_ok=True)
    with Browser.start(tmp_path, width=width, height=900) as browser:
        browser.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1,
                     mobile=width < 600)
        browser.open(link_for(rt, "demo-dangwei"))
        browser.wait_for("location.pathname === '/console' && !!document.getElementById('overview')")
        rows = {r[0]: r for r in table_rows(browser)}
        assert set(rows) == {"第一党支部", "第二党支部", "第三党支部", "第四党支部"}
        assert rows["第一党支部"][2] == "红" and "1 名党员连续 6 个月未交党费" in rows["第一党支部"][3]
        assert rows["第三党支部"][2] == "红" and "任期已届满 40 天未换届" in rows["第三党支部"][3]
        assert rows["第二党支部"][2] == "黄" and "11月参与率 62%" in rows["第二党支部"][3]
        assert rows["第四党支部"][2] == "绿" and rows["第四党支部"][3] == "各项正常"
        assert all(r[1] == "示范机关党委" for r in rows.values())
        # the page itself fits the screen: a wide table scrolls inside its box, never the whole page
        assert browser.eval("document.documentElement.scrollWidth") <= width
        # the session cookie is HttpOnly: the page's scripts cannot read it
        assert "zhibu_console" not in browser.eval("document.cookie")
        (ARTIFACTS / f"console_overview_{width}.png").write_bytes(browser.screenshot())

        # sorting by a column header, then filtering by status, with the page's own links and form
        browser.eval("document.querySelector('th a[data-sort=\"name\"]').click()")
        browser.wait_for("location.search.includes('sort=name')")
        browser.wait_for("!!document.getElementById('overview')")
        assert [r[0] for r in table_rows(browser)] == sorted(rows)
        browser.eval("document.getElementById('status').value = '红'; document.querySelector('form.filters').submit()")
        browser.wait_for("new URLSearchParams(location.search).get('status') === '红'")
        browser.wait_for("!!document.getElementById('overview')")
        assert {r[0] for r in table_rows(browser)} == {"第一党支部", "第三党支部"}

        browser.eval("Array.from(document.querySelectorAll('td.name a')).find(a => a.textContent === '第三党支部')"
                     ".click()")
        browser.wait_for("location.pathname.startsWith('/console/branch/') && !!document.getElementById('checkup')")
        text = browser.eval("document.body.innerText")
        assert "第三党支部" in text and "任期已届满 40 天未换届" in text
        assert "规范化自查" in text and "得分" in text and "钱进" in text  # the self-check, the committee
        assert browser.eval("document.documentElement.scrollWidth") <= width
        (ARTIFACTS / f"console_branch_{width}.png").write_bytes(browser.screenshot())

        browser.eval("document.getElementById('logout').click()")
        browser.wait_for("document.getElementById('title') && document.getElementById('title').textContent"
                         " === '已退出管理后台'")
        browser.open(f"{base}/console")
        browser.wait_for("document.getElementById('title') && document.getElementById('title').textContent"
                         " === '请先登录'")
