"""The projector page in headless Chromium: the app served on loopback by a real server thread, the QR visible,
the count rising after sign-ins made from other clients (a phone through WeCom OAuth, a chat message), the QR
replaced when its 30 seconds are up. A screenshot is saved under test-artifacts/."""
from __future__ import annotations

import itertools
import re
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from bot.messages import Incoming
from bot.runtime import build_runtime
from bot.signin_links import ROTATE_SECONDS, scan_token, scan_url
from tests.browser import Browser, chromium_path, serving
from tests.conftest import make_settings, wecom_env
from tests.signin_helpers import code_of, meeting, rows

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
WXWORK_UA = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Mobile Safari/537.36 wxwork/4.1.22 MicroMessenger/7.0.1"
_ids = itertools.count()

pytestmark = pytest.mark.skipif(chromium_path() is None,
                                reason="没有 chromium：apt-get install -y chromium 后可运行签到大屏的浏览器测试")


@pytest.fixture
def served(demo_db_template, tmp_path, clock, segmenter, fake_wecom):
    def make_runtime(url: str, base: str):
        return build_runtime(make_settings(url, **wecom_env(fake_wecom.url), ZHIBU_PUBLIC_URL=base,
                                           ZHIBU_WECOM_OAUTH_URL=fake_wecom.oauth_url), clock=clock, segmenter=segmenter)
    with serving(demo_db_template, tmp_path, make_runtime) as (rt, base):
        yield rt, base


def send(rt, user: str, text: str) -> str:
    return rt.router.handle(Incoming(platform="wecom", user_id=user, text=text,
                                     message_id=f"browser-{next(_ids)}")).as_text()


def test_projector_page_in_headless_chromium(served, tmp_path, clock):
    rt, base = served
    reply = send(rt, "demo-shuji", "发起签到 主题党日+党课 三楼会议室")
    link = re.search(r"签到大屏[^：]*：(\S+)", reply).group(1)
    assert link.startswith(base + "/signin/screen/")
    meeting_id = meeting(rt, code_of(reply)).id

    with Browser.start(tmp_path) as browser:
        browser.open(link)
        # the 书记 who opened it is the first one present
        browser.wait_for("document.body && document.body.getAttribute('data-attended') === '1'")
        assert "主题党日+党课" in browser.eval("document.getElementById('label').textContent")
        assert code_of("签到码：" + browser.eval("document.getElementById('code').textContent")[-4:]) \
            == code_of(reply)
        # the QR is loaded and shown large: an SVG image with a real size on the screen
        size = browser.wait_for("""(() => { const i = document.getElementById('qr');
            const r = i.getBoundingClientRect();
            return i.complete && i.naturalWidth > 0 && r.width > 200 && r.height > 200
                && getComputedStyle(document.getElementById('qrbox')).display !== 'none' ? r.width : 0; })()""")
        assert size > 200
        src = browser.eval("document.getElementById('qr').getAttribute('src')")
        slot = int(re.search(r"slot=(\d+)", src).group(1))

        # another client: a phone in WeCom scans the QR being shown, through the fake WeCom's OAuth page
        phone = requests.Session()
        phone.trust_env = False
        phone.headers.update({"User-Agent": WXWORK_UA, "X-Fake-Wecom-User": "demo-dangyuan"})
        page = phone.get(scan_url(rt.settings, scan_token(rt.settings, meeting_id, slot)), timeout=10)
        assert page.status_code == 200 and "签到成功" in page.text, page.text
        browser.wait_for("document.body.getAttribute('data-attended') === '2'")
        assert "张伟" in browser.eval("document.getElementById('names').textContent")

        # and a member who sends the code in chat
        assert "签到成功" in send(rt, "demo-yubei", f"签到 {code_of(reply)}")
        browser.wait_for("document.body.getAttribute('data-attended') === '3'")
        names = browser.eval("document.getElementById('names').textContent")
        assert "张伟" in names and "陈晨" in names
        assert browser.eval("document.getElementById('rate').textContent").endswith("%")

        # 30 seconds on, the page shows the next QR without a reload
        clock.set(clock() + timedelta(seconds=ROTATE_SECONDS))
        browser.wait_for(f"!document.getElementById('qr').getAttribute('src').endsWith('slot={slot}')")
        browser.wait_for("document.getElementById('qr').complete")

        ARTIFACTS.mkdir(exist_ok=True)
        png = browser.screenshot()
        assert png.startswith(b"\x89PNG")
        (ARTIFACTS / "signin_screen.png").write_bytes(png)

        # the same browser as a member's phone inside WeCom: scan → WeCom's OAuth page → the confirmation
        browser.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)
        browser.call("Emulation.setUserAgentOverride", userAgent=WXWORK_UA)
        browser.call("Network.enable")
        browser.call("Network.setExtraHTTPHeaders", headers={"X-Fake-Wecom-User": "demo-b1-01"})
        slot = int(re.search(r"slot=(\d+)", browser.eval("document.getElementById('qr').getAttribute('src')"))[1])
        browser.open(scan_url(rt.settings, scan_token(rt.settings, meeting_id, slot)))
        title = browser.wait_for("document.getElementById('title') && document.getElementById('title').textContent")
        assert title.startswith("已签到"), browser.eval("document.body.innerText")
        assert browser.eval("location.pathname") == "/signin/wecom/callback"
        (ARTIFACTS / "signin_phone.png").write_bytes(browser.screenshot())
    assert len(rows(rt, code_of(reply))) == 4  # the 书记 who opened it, and three members
