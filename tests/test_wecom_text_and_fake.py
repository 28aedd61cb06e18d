"""Splitting long texts at WeCom's 2048-byte limit, and the fake WeCom API's own rules (used by other tests)."""
from __future__ import annotations

from datetime import datetime

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.wecom.text import CUT_NOTE, LIMIT, MAX_PARTS, reply_parts, split_utf8

TEXT = st.text(alphabet=st.sampled_from(list("党支部ab\n1😀 ，")), max_size=3000)


@given(TEXT, st.integers(min_value=4, max_value=600))
def test_split_parts_fit_and_nothing_is_lost(text, limit):
    parts = split_utf8(text, limit)
    assert all(len(p.encode()) <= limit for p in parts)
    # only the newline at a cut may be dropped: everything else arrives, in order
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert 0 <= text.count("\n") - "".join(parts).count("\n") <= len(parts) - 1


def test_reply_parts_mark_continuations_with_number_and_time():
    text = "\n".join(f"第{i}条 " + "支部" * 100 for i in range(20))
    first, rest = reply_parts(text, datetime(2026, 11, 24, 10, 32, 5))
    assert len(first.encode()) <= LIMIT and rest
    assert all(len(p.encode()) <= LIMIT for p in rest)
    assert rest[0].startswith(f"（续 2/{len(rest) + 1} · 10:32:05）\n")
    assert reply_parts("短回复", None) == ("短回复", [])


@pytest.mark.parametrize("text", ["1" * 30_000 * 3, "\n".join(f"第{i}行 " + "支部" * 300 for i in range(100)),
                                  "党" * 100_000])
def test_one_reply_is_never_more_than_three_parts(text):
    first, rest = reply_parts(text, datetime(2026, 11, 24, 10, 32, 5))
    assert 1 + len(rest) == MAX_PARTS == 3
    assert all(len(p.encode()) <= LIMIT for p in [first, *rest])
    assert rest[-1].endswith(CUT_NOTE) and rest[-1].startswith("（续 3/3 · 10:32:05）\n")
    shown = "\n".join([first, *(p.split("\n", 1)[1] for p in rest)]).removesuffix("\n" + CUT_NOTE)
    assert text.replace("\n", "").startswith(shown.replace("\n", ""))


def test_fake_applies_duplicate_check_rate_limit_and_truncation(fake_wecom):
    base = fake_wecom.url
    token = requests.get(base + "gettoken", params={"corpid": fake_wecom.corp_id,
                                                    "corpsecret": fake_wecom.secret}, timeout=5).json()
    assert token["errcode"] == 0 and token["expires_in"] == 7200

    def send(content: str, dup: bool = False, user: str = "u1") -> dict:
        body = {"touser": user, "agentid": fake_wecom.agent_id, "msgtype": "text", "text": {"content": content}}
        if dup:
            body.update(enable_duplicate_check=1, duplicate_check_interval=1800)
        return requests.post(base + "message/send", params={"access_token": token["access_token"]},
                             json=body, timeout=5).json()

    assert send("同一条", dup=True)["errcode"] == 0
    assert send("同一条", dup=True)["errcode"] == 0  # accepted, but not shown again
    assert send("同一条")["errcode"] == 0  # without the check WeCom delivers it again
    fake_wecom.advance(1801)
    assert send("同一条", dup=True)["errcode"] == 0  # after the interval it is new again
    assert [d.content for d in fake_wecom.inbox["u1"]] == ["同一条", "同一条", "同一条"]
    for i in range(35):
        send(f"第{i}条", user="u2")
    assert len(fake_wecom.inbox["u2"]) == 30  # per member per minute; the rest dropped without an error
    send("长" * 1000, user="u3")
    assert len(fake_wecom.inbox["u3"][0].content.encode()) <= 2048
    fake_wecom.advance(7200)
    assert send("过期")["errcode"] == 42001


def test_fake_oauth_code_works_once(fake_wecom):
    fake_wecom.oauth_codes["CODE1"] = "demo-dangyuan"
    token = requests.get(fake_wecom.url + "gettoken", params={"corpid": fake_wecom.corp_id,
                                                              "corpsecret": fake_wecom.secret}, timeout=5).json()
    params = {"access_token": token["access_token"], "code": "CODE1"}
    first = requests.get(fake_wecom.url + "auth/getuserinfo", params=params, timeout=5).json()
    assert first["errcode"] == 0 and first["userid"] == "demo-dangyuan"
    again = requests.get(fake_wecom.url + "user/getuserinfo", params=params, timeout=5).json()
    assert again["errcode"] == 40029
    assert [r.path for r in fake_wecom.requests] == ["gettoken", "auth/getuserinfo", "user/getuserinfo"]
