"""The 换届提醒函 (.docx) and the signed links that serve it."""
from __future__ import annotations

import io
from datetime import date, timedelta
from urllib.parse import urlparse

import docx
import pytest

from bot.app import create_app
from bot.signing import BadToken, ExpiredToken, make_token, read_token, signed_url
from reminders.letter import LETTER_PURPOSE, STEPS, LetterFacts, build_letter, letter_facts
from reminders.outbox import Dispatcher, letter_renderer
from storage.db import transaction
from storage.orgs import find_org
from tests.delivery_helpers import ScriptedPusher, add_rows, rows_by_key

SECRET = "test-secret-key-0123456789"


def paragraphs(data: bytes) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]


def test_letter_has_heading_term_deadline_steps_signature_and_date(demo):
    with transaction(demo.sessions) as session:
        facts = letter_facts(session, find_org(session, "第一党支部"), date(2026, 12, 15))
    text = paragraphs(build_letter(facts))
    assert text[0] == "关于第一党支部委员会任期届满按期换届的提醒函"
    assert text[1] == "第一党支部："
    body = text[2]
    assert "2024年6月15日选举产生，任期3年" in body and "至2027年6月15日止" in body
    assert "于2027年6月15日前完成换届选举" in body
    for i, step in enumerate(STEPS, start=1):
        assert f"{i}. {step}" in text
    assert "五分之四" in "".join(text) and "差额选举" in "".join(text)
    assert text[-2:] == ["示范机关党委", "2026年12月15日"]
    assert not any("不足7名" in t for t in text)  # 11 正式党员 in the demo branch


def test_small_branch_letter_says_the_meeting_elects_the_secretary_directly():
    facts = LetterFacts("小支部", "某党委", date(2021, 3, 1), date(2026, 3, 1), 5, 5, date(2025, 9, 1))
    text = paragraphs(build_letter(facts))
    assert "任期5年" in text[2] and "于2026年3月1日前完成换届选举" in text[2]
    assert any("正式党员5名，不足7名" in t for t in text)


def test_tokens_valid_expired_forged(clock):
    now = clock()
    token = make_token(SECRET, LETTER_PURPOSE, {"org": 2, "on": "2026-12-15"}, now + timedelta(days=1))
    assert read_token(SECRET, LETTER_PURPOSE, token, now) == {"org": 2, "on": "2026-12-15"}
    assert token == make_token(SECRET, LETTER_PURPOSE, {"on": "2026-12-15", "org": 2}, now + timedelta(days=1))
    with pytest.raises(ExpiredToken):
        read_token(SECRET, LETTER_PURPOSE, token, now + timedelta(days=1))
    body, sig = token.split(".")
    forged_body = make_token(SECRET, LETTER_PURPOSE, {"org": 3, "on": "2026-12-15"}, now + timedelta(days=1))
    for bad in (f"{forged_body.split('.')[0]}.{sig}", f"{body}.{sig[:-2]}AA", f"{body}.", "garbage",
                make_token("another-secret-0123456789", LETTER_PURPOSE, {"org": 2}, now + timedelta(days=1))):
        with pytest.raises(BadToken):
            read_token(SECRET, LETTER_PURPOSE, bad, now)
    with pytest.raises(BadToken):  # a token made for another kind of link
        read_token(SECRET, "signin", token, now)


def test_letter_link_in_the_t6m_push_downloads_the_letter(demo, clock):
    now = clock()
    add_rows(demo.sessions, [{"key": "term_expiry:第一党支部:2027-06-15:T-6m:demo-shuji", "to": "demo-shuji",
                              "due": now, "until": now + timedelta(days=180), "org": "第一党支部",
                              "kind": "term_expiry", "title": "换届提醒", "letter": True,
                              "text": "第一党支部委员会任期将于2027年6月15日届满，请做好换届准备。"}])
    wecom = ScriptedPusher("wecom")
    settings = demo.settings
    Dispatcher(demo.sessions, {"wecom": wecom}, clock, render=letter_renderer(settings.public_url,
                                                                             settings.secret_key)).dispatch()
    (user, text, key), = wecom.calls
    link = text.splitlines()[-1].removeprefix("换届提醒函：")
    assert link.startswith(f"{settings.public_url}/files/{LETTER_PURPOSE}/")

    # the link comes from the row, not the clock: a re-send after a crash is byte-identical
    clock.set(now + timedelta(hours=3))
    row = rows_by_key(demo.sessions)[key]
    assert letter_renderer(settings.public_url, settings.secret_key)(row).as_text() == text

    client = create_app(runtime=demo).test_client()
    path = urlparse(link).path
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    text = paragraphs(resp.data)
    assert text[0] == "关于第一党支部委员会任期届满按期换届的提醒函" and text[-1] == "2026年11月24日"

    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.get(tampered).status_code == 403
    clock.set(now + timedelta(days=181))
    resp = client.get(path)
    assert resp.status_code == 410 and "链接已过期" in resp.get_data(as_text=True)
    assert client.get(f"/files/nothing/{path.rsplit('/', 1)[1]}").status_code == 404


def test_letter_link_for_a_branch_without_a_term_says_so(demo, clock):
    with transaction(demo.sessions) as session:
        from storage.models import Organization
        session.add(Organization(name="新建党支部", type="党支部", parent_id=find_org(session, "示范机关党委").id))
        session.flush()
        org_id = find_org(session, "新建党支部").id
    url = signed_url(demo.settings.public_url, demo.settings.secret_key, LETTER_PURPOSE,
                     {"org": org_id, "on": "2026-11-24"}, clock() + timedelta(days=1))
    resp = create_app(runtime=demo).test_client().get(urlparse(url).path)
    assert resp.status_code == 404 and "还没有支委会任期记录" in resp.get_data(as_text=True)
