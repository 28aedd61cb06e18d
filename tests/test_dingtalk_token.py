"""The access token is shared through platform_tokens: processes that all find it stale make one fetch."""
import threading

from bot.channels.dingtalk.api import DingtalkApi
from storage.db import make_engine, make_session_factory, upgrade
from tests.conftest import DINGTALK_ENV, make_settings


def test_processes_share_one_refresh(any_db_url, fake_dingtalk, clock, trusting_http):
    upgrade(any_db_url)
    settings = make_settings(any_db_url, **DINGTALK_ENV, ZHIBU_DINGTALK_API_BASE=fake_dingtalk.base_url)
    engines = [make_engine(any_db_url) for _ in range(4)]  # four "processes", each with its own pool
    apis = [DingtalkApi(settings.dingtalk, make_session_factory(e), clock, trusting_http) for e in engines]
    tokens: list[str] = []
    barrier = threading.Barrier(len(apis))

    def work(api):
        barrier.wait()
        tokens.append(api.tokens.get())

    threads = [threading.Thread(target=work, args=(api,)) for api in apis]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert len(tokens) == 4 and len(set(tokens)) == 1
        assert fake_dingtalk.token_calls == 1
        # DingTalk revokes it: every process is told so, one fetch replaces it for all
        fake_dingtalk.expire_tokens()
        stale = tokens[0]
        replaced = []
        threads = [threading.Thread(target=lambda a=api: replaced.append(a.tokens.get(rejected=stale))) for api in apis]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(set(replaced)) == 1 and replaced[0] != stale
        assert fake_dingtalk.token_calls == 2
    finally:
        for e in engines:
            e.dispose()
