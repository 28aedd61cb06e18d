"""A message is handled once, answered the same on a retry, refused when stale, and bounded in size — through the
WeCom callback as the platform sends it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.router import MAX_TEXT
from bot.settings import SettingsError
from storage.models import AuditLog, ProcessedMessage
from tests.conftest import make_settings

URL = "/wecom/callback"


@pytest.fixture
def http(wecom_demo):
    return create_app(runtime=wecom_demo).test_client()


def _post(http, client, xml):
    query, body = client.encrypt_envelope(xml)
    return http.post(f"{URL}?{query}", data=body.encode(), content_type="text/xml")


def _count(rt, model) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("off", [timedelta(days=-2), timedelta(days=1, minutes=5), timedelta(days=-40)])
def test_a_message_dated_a_day_away_has_no_effect_and_no_reply(http, wecom_client, wecom_demo, clock, off):
    """A captured 设置 replayed after its key was pruned must not undo a later correction."""
    audits = _count(wecom_demo, AuditLog)
    sent = int((clock() + off).timestamp())
    res = _post(http, wecom_client, wecom_client.text_xml("demo-shuji", "设置 参与率下限 85%", create_time=sent))
    assert res.status_code == 200 and res.data == b""
    assert _count(wecom_demo, ProcessedMessage) == 0 and _count(wecom_demo, AuditLog) == audits


def test_a_message_a_few_hours_old_is_still_handled(http, wecom_client, wecom_demo, clock):
    sent = int((clock() - timedelta(hours=20)).timestamp())
    res = _post(http, wecom_client, wecom_client.text_xml("demo-shuji", "设置 参与率下限 85%", create_time=sent))
    assert "已修改" in wecom_client.open_reply(res.data).content


def test_text_over_the_limit_gets_a_short_answer_and_is_never_routed(http, wecom_client, wecom_demo):
    audits = _count(wecom_demo, AuditLog)
    res = _post(http, wecom_client, wecom_client.text_xml("demo-shuji", "设置 参与率下限 85%" + "啊" * MAX_TEXT))
    answer = wecom_client.open_reply(res.data).content
    assert "消息太长" in answer and len(answer) < 80
    assert _count(wecom_demo, AuditLog) == audits


def test_message_keys_are_kept_longer_than_the_freshness_window():
    assert make_settings("sqlite:///x.db").dedupe_days == 7
    with pytest.raises(SettingsError, match="ZHIBU_DEDUPE_DAYS"):
        make_settings("sqlite:///x.db", ZHIBU_DEDUPE_DAYS="1")
