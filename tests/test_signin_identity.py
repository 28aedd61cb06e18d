"""The scan page asks "who is this phone?" through bot.identity, never of a platform: whichever channel registers an
Identity on the runtime signs its members in, under its own platform's accounts."""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

from bot.app import create_app
from bot.identity import IdentityError
from bot.messages import Incoming
from bot.signin_links import current_slot, scan_token, scan_url
from storage.db import transaction
from storage.members import find_by_platform_id
from tests.signin_helpers import code_of, meeting, rows

CHAT_UA = "Mozilla/5.0 (Linux; Android 13) Mobile Safari/537.36 FakeChat/1.0"
PLAIN_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/150.0 Safari/537.36"


class FakeIdentity:
    """An Identity as a channel would register it; this one names DingTalk accounts."""

    platform = "dingtalk"
    app_name = "钉钉"

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}  # one-use code → the platform's user id

    def opened_in(self, user_agent: str) -> bool:
        return "FakeChat" in user_agent

    def login_url(self, redirect_uri: str, state: str) -> str:
        return "https://login.example.cn/authorize?" + urlencode({"redirect_uri": redirect_uri, "state": state})

    def identify(self, code: str) -> str:
        if code not in self.codes:
            raise IdentityError("身份码无效或已用过")
        return self.codes.pop(code)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_scan_signs_in_through_whichever_identity_is_registered(demo, clock):
    identity = FakeIdentity()
    demo.identities[identity.platform] = identity
    web = create_app(runtime=demo).test_client()
    reply = demo.router.handle(Incoming(platform="dingtalk", user_id="demo-shuji", text="发起签到 主题党日",
                                        message_id="identity-1"))
    code = code_of(reply.as_text())
    scan = path_of(scan_url(demo.settings, scan_token(demo.settings, meeting(demo, code).id, current_slot(clock()))))

    first = web.get(scan, headers={"User-Agent": CHAT_UA})
    assert first.status_code == 302
    login = parse_qs(urlsplit(first.headers["Location"]).query)
    assert login["redirect_uri"] == [f"{demo.settings.public_url.rstrip('/')}/signin/dingtalk/callback"]
    identity.codes["c1"] = "demo-dangyuan"
    back = f"/signin/dingtalk/callback?code=c1&state={login['state'][0]}"
    page = web.get(back, headers={"User-Agent": CHAT_UA})
    assert page.status_code == 200 and "已签到" in page.get_data(as_text=True)
    assert {n: a.via for n, a in rows(demo, code).items()} == {"王建国": "opener", "张伟": "qr"}
    with transaction(demo.sessions) as session:
        assert find_by_platform_id(session, "dingtalk", "demo-dangyuan").last_platform == "dingtalk"

    used = web.get(back, headers={"User-Agent": CHAT_UA})  # the code works once
    assert used.status_code == 502 and "身份码无效" in used.get_data(as_text=True)
    # a platform that registered no Identity cannot be asked
    other = web.get(f"/signin/wecom/callback?code=c2&state={login['state'][0]}")
    assert other.status_code == 503 and "签到码" in other.get_data(as_text=True)
    # a plain browser is told the code, and which chat app signs in at one scan
    plain = web.get(scan, headers={"User-Agent": PLAIN_UA}).get_data(as_text=True)
    assert f"签到 {code}" in plain and "用钉钉扫码可一步完成签到" in plain
    assert {n: a.via for n, a in rows(demo, code).items()} == {"王建国": "opener", "张伟": "qr"}
