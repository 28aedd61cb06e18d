"""The WeCom callback on PostgreSQL with psycopg's server-side prepared statements on (threshold 1: every statement
prepared from its first run) and off (ZHIBU_DATABASE_PREPARE=off, what a transaction-mode pooler needs)."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.app import create_app
from bot.demo import seed_demo
from bot.runtime import build_runtime
from storage.db import transaction, upgrade
from tests.conftest import make_settings, wecom_env

URL = "/wecom/callback"


@pytest.mark.postgres
@pytest.mark.parametrize("prepare, prepared", [("1", True), ("off", False)])
def test_callback_answers_with_prepared_statements_on_and_off(pg_cluster, fake_wecom, wecom_client, segmenter, clock,
                                                              prepare, prepared):
    url = pg_cluster.create_db(f"prepare_{prepare}")
    upgrade(url)
    settings = make_settings(url, ZHIBU_DATABASE_PREPARE=prepare, ZHIBU_HANDLER_THREADS="1",
                             **wecom_env(fake_wecom.url))
    rt = build_runtime(settings, segmenter=segmenter, clock=clock)
    try:
        with transaction(rt.sessions) as session:
            seed_demo(session)
        http = create_app(runtime=rt).test_client()
        for i in range(4):  # the same statements again and again, on the one pooled connection
            query, body = wecom_client.encrypt_envelope(wecom_client.text_xml("demo-dangyuan", "我的信息"))
            res = http.post(f"{URL}?{query}", data=body.encode(), content_type="text/xml")
            assert res.status_code == 200
            assert "张伟" in wecom_client.open_reply(res.data).content, f"message {i}"
        with rt.engine.connect() as conn:  # the pool's one connection: the one the messages used
            count = conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()
        assert (count > 0) is prepared
    finally:
        rt.close()
