import pytest

from bot.settings import SettingsError, load_settings

GOOD_AES = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"  # the official sample EncodingAESKey
WECOM = {"ZHIBU_WECOM_CORP_ID": "wx5823bf96d3bd56c7", "ZHIBU_WECOM_AGENT_ID": "1000002",
         "ZHIBU_WECOM_SECRET": "s", "ZHIBU_WECOM_TOKEN": "QDG6eK", "ZHIBU_WECOM_AES_KEY": GOOD_AES}


def test_defaults():
    s = load_settings({}, dotenv=None)
    assert s.database_url == "sqlite:///zhibu.db" and s.timezone == "Asia/Shanghai"
    assert s.wecom is None and s.dingtalk is None


def test_wecom_on_when_all_five_set():
    s = load_settings(WECOM, dotenv=None)
    assert s.wecom.agent_id == 1000002 and s.wecom.api_base == "https://qyapi.weixin.qq.com/cgi-bin/"


@pytest.mark.parametrize("env,variable", [
    ({"ZHIBU_DATABASE_URL": "mysql://x"}, "ZHIBU_DATABASE_URL"),
    ({"ZHIBU_TIMEZONE": "Mars/Olympus"}, "ZHIBU_TIMEZONE"),
    ({"ZHIBU_PUBLIC_URL": "dj.example.cn"}, "ZHIBU_PUBLIC_URL"),
    ({"ZHIBU_SECRET_KEY": "short"}, "ZHIBU_SECRET_KEY"),
    ({**WECOM, "ZHIBU_WECOM_AES_KEY": "tooshort"}, "ZHIBU_WECOM_AES_KEY"),
    ({**WECOM, "ZHIBU_WECOM_TOKEN": "has space"}, "ZHIBU_WECOM_TOKEN"),
    ({**WECOM, "ZHIBU_WECOM_AGENT_ID": "abc"}, "ZHIBU_WECOM_AGENT_ID"),
    ({k: v for k, v in WECOM.items() if k != "ZHIBU_WECOM_SECRET"}, "ZHIBU_WECOM_SECRET"),
    ({"ZHIBU_DINGTALK_APP_KEY": "k"}, "ZHIBU_DINGTALK_APP_SECRET"),
    ({"ZHIBU_DINGTALK_APP_KEY": "k", "ZHIBU_DINGTALK_APP_SECRET": "s", "ZHIBU_DINGTALK_ROBOT_CODE": "r",
      "ZHIBU_DINGTALK_MODE": "socket"}, "ZHIBU_DINGTALK_MODE"),
    ({"ZHIBU_DATABSE_URL": "sqlite:///x.db"}, "ZHIBU_DATABSE_URL"),
    ({"ZHIBU_LOG_LEVEL": "LOUD"}, "ZHIBU_LOG_LEVEL"),
])
def test_bad_settings_name_the_variable_in_one_line(env, variable):
    with pytest.raises(SettingsError) as info:
        load_settings(env, dotenv=None)
    message = str(info.value)
    assert message.startswith(variable + ":") and "\n" not in message


def test_dotenv_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("ZHIBU_TIMEZONE=Asia/Urumqi\nZHIBU_PUBLIC_URL=https://a.example.cn\n")
    s = load_settings({"ZHIBU_PUBLIC_URL": "https://b.example.cn"}, dotenv=env_file)
    assert s.timezone == "Asia/Urumqi" and s.public_url == "https://b.example.cn"


def test_secrets_are_not_in_the_error_text():
    with pytest.raises(SettingsError) as info:
        load_settings({**WECOM, "ZHIBU_WECOM_AES_KEY": "secretvalue"}, dotenv=None)
    assert "secretvalue" not in str(info.value)
