"""Shared fixtures: a migrated SQLite file per test, a throwaway PostgreSQL cluster per session, the demo data."""
from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime

import pytest

from bot.channels import console
from bot.demo import seed_demo
from bot.intent import Segmenter
from bot.runtime import Runtime, build_runtime
from bot.settings import load_settings
from storage.db import transaction, upgrade
from tests.pg import Cluster, server_bin

# 2026-11-24 10:00 in Beijing: a Tuesday
DEFAULT_NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
_db_names = itertools.count()


class Clock:
    """A frozen clock that tests can move."""

    def __init__(self, at: datetime = DEFAULT_NOW) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at


@pytest.fixture(scope="session")
def segmenter() -> Segmenter:
    return Segmenter().warm()  # jieba's dictionary is loaded once per test session, as once per process in production


@pytest.fixture(scope="session")
def pg_cluster():
    if server_bin() is None:
        pytest.skip("没有 PostgreSQL 服务端程序（initdb）：跳过 PostgreSQL 测试")
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_url(request, tmp_path):
    """An empty database on each backend; tests using it run twice."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'zhibu.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    return cluster.create_db(f"t{next(_db_names)}")


# PYTEST_DB=postgres runs every test that takes `db_url` on PostgreSQL instead of SQLite (`make test` does both)
TEST_DB = os.environ.get("PYTEST_DB", "sqlite")


@pytest.fixture(scope="session")
def pg_template(pg_cluster) -> str:
    """A migrated database that each test copies (CREATE DATABASE … TEMPLATE is much faster than migrating)."""
    upgrade(pg_cluster.create_db("zhibu_template"))
    return "zhibu_template"


@pytest.fixture
def db_url(request, tmp_path) -> str:
    if TEST_DB == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        return cluster.create_db(f"t{next(_db_names)}", template=request.getfixturevalue("pg_template"))
    url = f"sqlite:///{tmp_path / 'zhibu.db'}"
    upgrade(url)
    return url


def make_settings(url: str, **env: str):
    return load_settings({"ZHIBU_DATABASE_URL": url, "ZHIBU_SECRET_KEY": "test-secret-key-0123456789", **env},
                         dotenv=None)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pushed() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def runtime(db_url, clock, segmenter, pushed) -> Runtime:
    from bot.push import ConsolePusher

    rt = build_runtime(make_settings(db_url), clock=clock, segmenter=segmenter,
                       pushers={"console": ConsolePusher(write=lambda text: pushed.append(text))})
    yield rt
    rt.close()


@pytest.fixture
def demo(runtime) -> Runtime:
    with transaction(runtime.sessions) as session:
        seed_demo(session)
    return runtime


@pytest.fixture
def say(demo):
    """say("demo-shuji", "帮助") -> the reply text, over the console channel."""
    def _say(user: str, text: str) -> str:
        return console.say(demo.router, user, text)[0]
    return _say


def pytest_collection_modifyitems(config, items):
    """In the PostgreSQL pass, run only the tests that use the database fixture; the rest ran in the SQLite pass."""
    if TEST_DB != "postgres":
        return
    keep = [item for item in items if "db_url" in getattr(item, "fixturenames", ())]
    deselected = [item for item in items if item not in keep]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


@pytest.fixture
def dues_demo(demo, clock) -> Runtime:
    """The demo with this year's dues as of the frozen clock: paid to last month, demo-b1-04 (郑强) three months
    behind, demo-b1-06 (何军) six."""
    from bot.demo import seed_demo_dues

    with transaction(demo.sessions) as session:
        seed_demo_dues(session, clock().astimezone(demo.settings.tz).date())
    return demo


@pytest.fixture
def ov_say(dues_demo, clock):
    """say() on the demo with its dues and the branches the 党委 oversees (第三 quiet with its term run out, 第四
    in order), as of the frozen clock: the 支部概况 / 规范化自查 conversations."""
    from bot.channels import console
    from bot.demo import seed_demo_oversight

    with transaction(dues_demo.sessions) as session:
        seed_demo_oversight(session, clock().astimezone(dues_demo.settings.tz).date(), dues_demo.settings.tz)

    def _say(user: str, text: str) -> str:
        return console.say(dues_demo.router, user, text)[0]
    return _say

# DingTalk: a fake DingTalk on loopback (HTTPS with a throwaway certificate) and a demo runtime configured for it
DINGTALK_ENV = {"ZHIBU_DINGTALK_APP_KEY": "ding-app-key", "ZHIBU_DINGTALK_APP_SECRET": "ding-app-secret",
                "ZHIBU_DINGTALK_ROBOT_CODE": "ding-robot-code"}


@pytest.fixture(scope="session")
def fake_tls(tmp_path_factory):
    from tests.fakes.tls import make_cert

    return make_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def fake_dingtalk(fake_tls, clock):
    from tests.fakes.dingtalk_server import FakeDingtalk

    fake = FakeDingtalk(clock=clock, tls=fake_tls).start()
    yield fake
    fake.stop()


@pytest.fixture
def trusting_http(fake_tls):
    """A requests session that trusts the fake's certificate (and nothing else)."""
    import requests

    http = requests.Session()
    http.verify = str(fake_tls[0])
    http.trust_env = False
    yield http
    http.close()


@pytest.fixture
def dingtalk_mode() -> str:
    return "http"


# --- WeCom: a fake WeCom API on loopback, and the demo runtime configured to use it --------------------------------
WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP_ID = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
WECOM_AGENT_ID, WECOM_SECRET = 1000002, "fake-wecom-secret"


def wecom_env(api_base: str) -> dict[str, str]:
    return {"ZHIBU_WECOM_CORP_ID": WECOM_CORP_ID, "ZHIBU_WECOM_AGENT_ID": str(WECOM_AGENT_ID),
            "ZHIBU_WECOM_SECRET": WECOM_SECRET, "ZHIBU_WECOM_TOKEN": WECOM_TOKEN,
            "ZHIBU_WECOM_AES_KEY": WECOM_AES_KEY, "ZHIBU_WECOM_API_BASE": api_base}


@pytest.fixture
def fake_wecom():
    """A fake WeCom API started on a free loopback port (tests/fakes/wecom_server.py)."""
    from tests.fakes.wecom_server import FakeWecomServer

    with FakeWecomServer(corp_id=WECOM_CORP_ID, secret=WECOM_SECRET, agent_id=WECOM_AGENT_ID) as server:
        yield server


@pytest.fixture
def wecom_client(clock):
    """Encrypts messages exactly as WeCom does, for the callback (tests/fakes/wecom_client.py), dated by the test's
    clock."""
    from tests.fakes.wecom_client import WecomClient

    return WecomClient(WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP_ID, WECOM_AGENT_ID, clock=lambda: clock().timestamp())


@pytest.fixture(scope="session")
def demo_db_template(tmp_path_factory, segmenter):
    """A migrated SQLite file with the demo data, made once; channel tests get a copy (seeding per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "demo.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    rt = build_runtime(make_settings(url), segmenter=segmenter)
    with transaction(rt.sessions) as session:
        seed_demo(session)
    rt.close()  # the last connection closing checkpoints the WAL into the file
    assert not path.with_name("demo.db-wal").exists()
    return path


@pytest.fixture
def dingtalk_rt(demo_db_template, tmp_path, clock, segmenter, pushed, fake_dingtalk, trusting_http,
                dingtalk_mode) -> Runtime:
    """The demo data, with DingTalk configured against the fake; its pushers trust the fake's certificate."""
    import shutil

    from bot.channels.dingtalk import make_pushers as dingtalk_pushers
    from bot.push import ConsolePusher

    db = tmp_path / "dingtalk.db"
    shutil.copy(demo_db_template, db)
    settings = make_settings(f"sqlite:///{db}", **DINGTALK_ENV, ZHIBU_DINGTALK_API_BASE=fake_dingtalk.base_url,
                             ZHIBU_DINGTALK_ROBOT_BASE=fake_dingtalk.base_url, ZHIBU_DINGTALK_MODE=dingtalk_mode)
    rt = build_runtime(settings, clock=clock, segmenter=segmenter,
                       pushers={"console": ConsolePusher(write=lambda text: pushed.append(text))})
    rt.services.pushers.update(dingtalk_pushers(settings, rt.sessions, clock, trusting_http))
    yield rt
    rt.close()


@pytest.fixture
def wecom_demo(demo_db_template, tmp_path, clock, segmenter, fake_wecom) -> Runtime:
    """The demo organisation with the WeCom channel on, its API pointed at `fake_wecom`."""
    import shutil

    path = tmp_path / "zhibu.db"
    shutil.copyfile(demo_db_template, path)
    rt = build_runtime(make_settings(f"sqlite:///{path}", **wecom_env(fake_wecom.url)), clock=clock,
                       segmenter=segmenter)
    yield rt
    rt.close()



def built(rt: Runtime, reply):
    """The file a reply promises (Reply.file), built the way the channels build it after the message (bot.files)."""
    assert reply.file is not None, reply.text
    return rt.services.files.build(reply.file)
