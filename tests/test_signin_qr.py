"""Scan to sign in: the rotating QR token, WeCom OAuth against the fake WeCom API, the pages through Flask's client."""
from __future__ import annotations

import itertools
import re
import shutil
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from bot.app import create_app
from bot.channels.wecom.oauth import OAuthError, WecomOAuth, authorize_url
from bot.messages import Incoming, Reply
from bot.runtime import build_runtime
from bot.signin_links import (
    SCAN,
    SCREEN,
    current_slot,
    meeting_of,
    scan_token,
    scan_url,
    screen_token,
    slot_start,
)
from bot.signing import BadToken, ExpiredToken
from storage.db import transaction
from storage.models import Meeting
from tests.conftest import make_settings, wecom_env
from tests.signin_helpers import code_of, meeting, rows

WXWORK_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 wxwork/4.1.20 MicroMessenger/7.0.1 Language/zh ColorScheme/Light")
DINGTALK_UA = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Mobile Safari/537.36 AliApp(DingTalk/7.5.0)"
PLAIN_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/150.0 Safari/537.36"
_ids = itertools.count()


def send(rt, user: str, text: str, chat_type: str = "private") -> str:
    reply = rt.router.handle(Incoming(platform="wecom", user_id=user, text=text, message_id=f"qr-{next(_ids)}",
                                      chat_type=chat_type))
    return reply.as_text()


def screen_link(reply: str) -> str:
    m = re.search(r"签到大屏[^：]*：(\S+)", reply)
    assert m, reply
    return m.group(1)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def qr_rt(demo_db_template, tmp_path, clock, segmenter, fake_wecom):
    """The demo with WeCom on, its API and its OAuth page both served by the fake."""
    path = tmp_path / "zhibu.db"
    shutil.copyfile(demo_db_template, path)
    rt = build_runtime(make_settings(f"sqlite:///{path}", **wecom_env(fake_wecom.url),
                                     ZHIBU_WECOM_OAUTH_URL=fake_wecom.oauth_url), clock=clock, segmenter=segmenter)
    yield rt
    rt.close()


@pytest.fixture
def web(qr_rt):
    return create_app(runtime=qr_rt).test_client()


def scan_in_wecom(web, fake_wecom, scan: str, user: str):
    """A phone with `user` signed in to WeCom opens the scanned link: our page → WeCom's OAuth page → our callback."""
    first = web.get(path_of(scan), headers={"User-Agent": WXWORK_UA})
    assert first.status_code == 302, first.get_data(as_text=True)
    to_wecom = first.headers["Location"]
    assert to_wecom.startswith(fake_wecom.oauth_url) and to_wecom.endswith("#wechat_redirect")
    back = requests.get(to_wecom.split("#")[0], headers={"X-Fake-Wecom-User": user}, allow_redirects=False,
                        timeout=5)
    assert back.status_code == 302, back.text
    return web.get(path_of(back.headers["Location"]), headers={"User-Agent": WXWORK_UA})


# the token -------------------------------------------------------------------------------------------------------
def test_scan_token_valid_for_60_seconds_from_its_slot_and_replaced_every_30(qr_rt, clock):
    s = qr_rt.settings
    slot = current_slot(clock())
    clock.set(slot_start(slot) + timedelta(seconds=5))
    token = scan_token(s, 7, slot)
    assert meeting_of(s, SCAN, token, clock()) == 7
    clock.set(slot_start(slot) + timedelta(seconds=31))  # replaced on screen, still accepted from a slow phone
    assert scan_token(s, 7, current_slot(clock())) != token
    assert meeting_of(s, SCAN, token, clock()) == 7
    clock.set(slot_start(slot) + timedelta(seconds=60))
    with pytest.raises(ExpiredToken):
        meeting_of(s, SCAN, token, clock())


def test_forged_and_misused_tokens_are_refused(qr_rt, clock):
    s = qr_rt.settings
    token = scan_token(s, 7, current_slot(clock()))
    body, _, sig = token.partition(".")
    other_body = scan_token(s, 8, current_slot(clock())).partition(".")[0]
    with pytest.raises(BadToken):
        meeting_of(s, SCAN, f"{other_body}.{sig}", clock())  # another meeting's payload under this signature
    with pytest.raises(BadToken):
        meeting_of(s, SCAN, f"{body}.{sig[:-2]}AA", clock())
    other_secret = make_settings(s.database_url, ZHIBU_SECRET_KEY="someone-elses-secret-key")
    with pytest.raises(BadToken):
        meeting_of(s, SCAN, scan_token(other_secret, 7, current_slot(clock())), clock())
    with pytest.raises(BadToken):  # the projector link is not a QR token, nor the other way round
        meeting_of(s, SCAN, screen_token(s, 7, clock() + timedelta(hours=1)), clock())
    with pytest.raises(BadToken):
        meeting_of(s, SCREEN, token, clock())


# the OAuth exchange ----------------------------------------------------------------------------------------------
def test_oauth_code_exchange_against_fake_wecom(qr_rt, fake_wecom):
    oauth = WecomOAuth(qr_rt.services.pushers["wecom"])
    fake_wecom.oauth_codes["code-1"] = "demo-dangyuan"
    assert oauth.user_id("code-1") == "demo-dangyuan"
    with pytest.raises(OAuthError) as err:
        oauth.user_id("code-1")  # a code works once
    assert err.value.retry
    calls = fake_wecom.calls("user/getuserinfo")
    assert calls[0].params["code"] == "code-1" and calls[0].params["access_token"]
    # the access token comes from the shared cache: a push and two exchanges, one gettoken
    assert qr_rt.services.pushers["wecom"].push("demo-shuji", Reply(text="hi"), "k").ok
    assert fake_wecom.gettoken_count == 1


def test_oauth_refreshes_an_expired_token_once(qr_rt, fake_wecom):
    oauth = WecomOAuth(qr_rt.services.pushers["wecom"])
    fake_wecom.oauth_codes["a"] = "demo-yubei"
    assert oauth.user_id("a") == "demo-yubei"
    fake_wecom.expire_tokens()
    fake_wecom.oauth_codes["b"] = "demo-yubei"
    assert oauth.user_id("b") == "demo-yubei"
    assert fake_wecom.gettoken_count == 2
    fake_wecom.reject_all_tokens = True
    fake_wecom.oauth_codes["c"] = "demo-yubei"
    with pytest.raises(OAuthError):
        oauth.user_id("c")
    assert fake_wecom.gettoken_count == 3  # one refresh per exchange, never a loop


def test_oauth_outsider_has_no_userid(qr_rt, fake_wecom):
    oauth = WecomOAuth(qr_rt.services.pushers["wecom"])
    fake_wecom.oauth_outsiders.add("guest")
    fake_wecom.oauth_codes["g"] = "guest"
    with pytest.raises(OAuthError) as err:
        oauth.user_id("g")
    assert not err.value.retry


def test_authorize_url_is_snsapi_base_for_this_app(qr_rt):
    url = authorize_url(qr_rt.settings.wecom, "https://open.weixin.qq.com/connect/oauth2/authorize",
                        "https://dj.example.cn/signin/wecom/callback", "st")
    query = parse_qs(urlsplit(url).query)
    assert url.endswith("#wechat_redirect")
    assert query["scope"] == ["snsapi_base"] and query["appid"] == [qr_rt.settings.wecom.corp_id]
    assert query["redirect_uri"] == ["https://dj.example.cn/signin/wecom/callback"]
    assert query["agentid"] == [str(qr_rt.settings.wecom.agent_id)]


# 发起签到 hands the projector link to the secretary -------------------------------------------------------------
def test_open_signin_gives_the_projector_link_privately(qr_rt, web, fake_wecom):
    reply = send(qr_rt, "demo-shuji", "发起签到 主题党日")
    link = screen_link(reply)
    assert link.startswith("http://127.0.0.1:8000/signin/screen/")
    again = send(qr_rt, "demo-shuji", "发起签到 主题党日")
    assert screen_link(again) == link  # a second tap: the same meeting, the same link
    page = web.get(path_of(link))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "主题党日" in html and "第一党支部" in html and code_of(reply) in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing loads from elsewhere
    # in a group the code is public, the link is not: a private 发起签到 hands out the same one
    group = send(qr_rt, "demo-shuji2", "发起签到 党课", chat_type="group")
    assert "/signin/screen/" not in group and "私聊" in group
    assert code_of(send(qr_rt, "demo-shuji2", "发起签到 党课")) == code_of(group)


def test_a_member_cannot_open_signin_nor_use_a_broken_screen_link(qr_rt, web):
    assert "/signin/screen/" not in send(qr_rt, "demo-dangyuan", "发起签到 主题党日")
    link = screen_link(send(qr_rt, "demo-shuji", "发起签到 主题党日"))
    assert web.get(path_of(link)[:-3] + "xyz").status_code == 403
    assert web.get(path_of(link)[:-3] + "xyz/state.json").status_code == 403


# the whole scan in WeCom, through Flask's test client and the fake WeCom ------------------------------------------
def test_scan_in_wecom_signs_in_once_and_the_screen_counts_it(qr_rt, web, fake_wecom, clock):
    reply = send(qr_rt, "demo-shuji", "发起签到 主题党日")
    screen = path_of(screen_link(reply))
    state = web.get(screen + "/state.json").get_json()
    # the 书记 who opened it is the first one present
    assert state["attended"] == 1 and state["expected"] > 1 and state["live"]
    assert [n["name"] for n in state["names"]] == ["王建国"]
    qr = web.get(f"{screen}/{state['qr']}")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and b"<svg" in qr.data

    scan = scan_url(qr_rt.settings, scan_token(qr_rt.settings, meeting(qr_rt, code_of(reply)).id, state["slot"]))
    page = scan_in_wecom(web, fake_wecom, scan, "demo-dangyuan")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "签到成功" in html and "张伟" in html
    assert rows(qr_rt, code_of(reply))["张伟"].via == "qr"

    state = web.get(screen + "/state.json").get_json()
    assert state["attended"] == 2 and {n["name"] for n in state["names"]} == {"王建国", "张伟"}
    assert state["rate"] != "—"

    again = scan_in_wecom(web, fake_wecom, scan, "demo-dangyuan")
    assert again.status_code == 200 and "无需重复签到" in again.get_data(as_text=True)
    assert web.get(screen + "/state.json").get_json()["attended"] == 2

    # the code path and the scan path share the rules: a code sign-in after a scan is a repeat too
    assert "无需重复签到" in send(qr_rt, "demo-dangyuan", f"签到 {code_of(reply)}")


def test_scan_refusals(qr_rt, web, fake_wecom, clock):
    reply = send(qr_rt, "demo-shuji", "发起签到 主题党日")
    m = meeting(qr_rt, code_of(reply))
    scan = scan_url(qr_rt.settings, scan_token(qr_rt.settings, m.id, current_slot(clock())))
    # another branch's member: not in scope, nothing recorded
    other = scan_in_wecom(web, fake_wecom, scan, "demo-shuji2")
    assert other.status_code == 409 and "不在参会范围内" in other.get_data(as_text=True)
    # someone WeCom knows but the roster does not
    stranger = scan_in_wecom(web, fake_wecom, scan, "not-on-roster")
    assert stranger.status_code == 403 and "名单" in stranger.get_data(as_text=True)
    assert set(rows(qr_rt, code_of(reply))) == {"王建国"}  # only the 书记 who opened it


def test_a_token_is_bound_to_its_meeting(qr_rt, web, fake_wecom, clock):
    first = send(qr_rt, "demo-shuji", "发起签到 主题党日")
    second = send(qr_rt, "demo-shuji2", "发起签到 主题党日")
    m2 = meeting(qr_rt, code_of(second))
    scan = scan_url(qr_rt.settings, scan_token(qr_rt.settings, m2.id, current_slot(clock())))
    page = scan_in_wecom(web, fake_wecom, scan, "demo-b2-01")
    assert page.status_code == 200
    # each 书记 is present at the sign-in they opened; the scan signed in to the second meeting only
    assert sorted(a.via for a in rows(qr_rt, code_of(second)).values()) == ["opener", "qr"]
    assert set(rows(qr_rt, code_of(first))) == {"王建国"}


def test_expired_qr_outside_wecom_and_in_dingtalk(qr_rt, web, fake_wecom, clock):
    reply = send(qr_rt, "demo-shuji", "发起签到 主题党日")
    code = code_of(reply)
    m = meeting(qr_rt, code)
    slot = current_slot(clock())
    scan = path_of(scan_url(qr_rt.settings, scan_token(qr_rt.settings, m.id, slot)))

    plain = web.get(scan, headers={"User-Agent": PLAIN_UA})
    assert plain.status_code == 200 and f"签到 {code}" in plain.get_data(as_text=True)
    ding = web.get(scan, headers={"User-Agent": DINGTALK_UA}).get_data(as_text=True)
    assert "钉钉" in ding and f"签到 {code}" in ding

    clock.set(slot_start(slot) + timedelta(seconds=61))  # a photo of the QR sent out of the room
    expired = web.get(scan, headers={"User-Agent": WXWORK_UA})
    text = expired.get_data(as_text=True)
    assert expired.status_code == 410 and "过期" in text and "签到" in text and code not in text
    forged = web.get(scan[:-4] + "AAAA", headers={"User-Agent": WXWORK_UA})
    assert forged.status_code == 403 and "无效" in forged.get_data(as_text=True)
    # the screen never hands out a token for a slot ahead of time, nor an old one
    screen = path_of(screen_link(reply))
    assert web.get(f"{screen}/qr.svg?slot={current_slot(clock()) + 1}").status_code == 410
    assert web.get(f"{screen}/qr.svg?slot={slot}").status_code == 410
    assert set(rows(qr_rt, code)) == {"王建国"}  # only the 书记 who opened it


def test_closed_meeting_and_stale_oauth_state(qr_rt, web, fake_wecom, clock):
    reply = send(qr_rt, "demo-shuji", "发起签到 主题党日")
    m = meeting(qr_rt, code_of(reply))
    scan = scan_url(qr_rt.settings, scan_token(qr_rt.settings, m.id, current_slot(clock())))
    first = web.get(path_of(scan), headers={"User-Agent": WXWORK_UA})
    to_wecom = first.headers["Location"].split("#")[0]
    back = requests.get(to_wecom, headers={"X-Fake-Wecom-User": "demo-dangyuan"}, allow_redirects=False, timeout=5)
    clock.set(clock() + timedelta(minutes=3))  # the member left the OAuth page open
    late = web.get(path_of(back.headers["Location"]))
    assert late.status_code == 410 and "重新扫描" in late.get_data(as_text=True)

    with transaction(qr_rt.sessions) as session:  # as 结束签到 does (its summary push is not what is tested here)
        session.get(Meeting, m.id).status = "closed"
    scan = scan_url(qr_rt.settings, scan_token(qr_rt.settings, m.id, current_slot(clock())))
    ended = web.get(path_of(scan), headers={"User-Agent": WXWORK_UA})
    assert ended.status_code == 410 and "结束" in ended.get_data(as_text=True)
    screen = path_of(screen_link(reply))
    state = web.get(screen + "/state.json").get_json()
    assert state["live"] is False and state["qr"] is None
    assert set(rows(qr_rt, code_of(reply))) == {"王建国"}  # only the 书记 who opened it


def test_oauth_page_setting():
    from bot.settings import SettingsError, load_settings

    assert load_settings({}, dotenv=None).wecom_oauth_url == "https://open.weixin.qq.com/connect/oauth2/authorize"
    with pytest.raises(SettingsError, match="ZHIBU_WECOM_OAUTH_URL"):
        load_settings({"ZHIBU_WECOM_OAUTH_URL": "open.weixin.qq.com"}, dotenv=None)
