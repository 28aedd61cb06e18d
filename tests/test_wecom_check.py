"""`zhibu wecom check`, and the WeCom settings failing start-up with one line."""
from __future__ import annotations

import socket

import pytest

from bot.cli import main
from bot.settings import SettingsError, load_settings
from tests.conftest import wecom_env


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key in list(__import__("os").environ):
        if key.startswith("ZHIBU_"):
            monkeypatch.delenv(key)

    def set_env(values: dict[str, str]) -> None:
        for k, v in values.items():
            monkeypatch.setenv(k, v)
    return set_env


def test_check_passes_against_the_fake(env, fake_wecom, capsys):
    env({**wecom_env(fake_wecom.url), "ZHIBU_PUBLIC_URL": "https://dj.example.cn"})
    assert main(["wecom", "check"]) == 0
    out = capsys.readouterr().out
    assert "https://dj.example.cn/wecom/callback" in out
    assert "获取 access_token 成功" in out and "注意" not in out
    assert fake_wecom.gettoken_count == 1


def test_check_warns_about_a_local_public_url(env, fake_wecom, capsys):
    env(wecom_env(fake_wecom.url))
    assert main(["wecom", "check"]) == 0
    assert "ZHIBU_PUBLIC_URL" in capsys.readouterr().out


def test_check_explains_a_wrong_secret(env, fake_wecom, capsys):
    env({**wecom_env(fake_wecom.url), "ZHIBU_WECOM_SECRET": "wrong"})
    assert main(["wecom", "check"]) == 1
    err = capsys.readouterr().err.strip()
    assert "Secret 不正确" in err and "40001" in err and len(err.splitlines()) == 1


def test_check_explains_the_trusted_ip_rule(env, fake_wecom, capsys):
    fake_wecom.blocked_ip = True
    env(wecom_env(fake_wecom.url))
    assert main(["wecom", "check"]) == 1
    assert "企业可信IP" in capsys.readouterr().err


def test_check_explains_an_unreachable_api(env, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env(wecom_env(f"http://127.0.0.1:{port}/cgi-bin/"))
    assert main(["wecom", "check"]) == 1
    assert "连不上" in capsys.readouterr().err


def test_check_explains_a_slow_api(env, fake_wecom, capsys):
    fake_wecom.delays["gettoken"] = 1.5
    env(wecom_env(fake_wecom.url))
    assert main(["wecom", "check", "--timeout", "0.3"]) == 1
    assert "没有响应" in capsys.readouterr().err


def test_check_without_the_channel_names_the_variables(env, capsys):
    assert main(["wecom", "check"]) == 1
    assert "ZHIBU_WECOM_CORP_ID" in capsys.readouterr().err


@pytest.mark.parametrize("key,value,named", [
    ("ZHIBU_WECOM_AES_KEY", "tooshort", "ZHIBU_WECOM_AES_KEY"),
    ("ZHIBU_WECOM_AES_KEY", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C=", "ZHIBU_WECOM_AES_KEY"),
    ("ZHIBU_WECOM_TOKEN", "has space", "ZHIBU_WECOM_TOKEN"),
    ("ZHIBU_WECOM_TOKEN", "x" * 33, "ZHIBU_WECOM_TOKEN"),
    ("ZHIBU_WECOM_AGENT_ID", "abc", "ZHIBU_WECOM_AGENT_ID"),
])
def test_malformed_settings_fail_with_one_line(env, capsys, key, value, named):
    values = {**wecom_env("http://127.0.0.1:9/cgi-bin/"), key: value}
    with pytest.raises(SettingsError) as err:
        load_settings(values, dotenv=None)
    assert str(err.value).startswith(named) and "\n" not in str(err.value)
    env(values)
    assert main(["wecom", "check"]) == 1
    err_out = capsys.readouterr().err.strip()
    assert named in err_out and len(err_out.splitlines()) == 1


def test_channel_is_on_only_with_all_five(env):
    full = wecom_env("https://qyapi.weixin.qq.com/cgi-bin/")
    assert load_settings(full, dotenv=None).wecom is not None
    assert load_settings({}, dotenv=None).wecom is None
    partial = {k: v for k, v in full.items() if k != "ZHIBU_WECOM_SECRET"}
    with pytest.raises(SettingsError, match="ZHIBU_WECOM_SECRET"):
        load_settings(partial, dotenv=None)
    default = {k: v for k, v in full.items() if k != "ZHIBU_WECOM_API_BASE"}
    assert load_settings(default, dotenv=None).wecom.api_base == "https://qyapi.weixin.qq.com/cgi-bin/"


def test_app_mounts_the_callback_only_when_configured(db_url, fake_wecom, segmenter):
    from bot.app import create_app
    from bot.runtime import build_runtime
    from tests.conftest import make_settings

    without = create_app(runtime=build_runtime(make_settings(db_url), segmenter=segmenter))
    assert without.test_client().get("/wecom/callback").status_code == 404
    with_wecom = create_app(runtime=build_runtime(make_settings(db_url, **wecom_env(fake_wecom.url)),
                                                  segmenter=segmenter))
    assert with_wecom.test_client().get("/wecom/callback").status_code == 400  # mounted; no parameters
