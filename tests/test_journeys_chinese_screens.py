"""Issue 25 item 7: Chinese on every screen — settings shown and set by their Chinese labels and values, the CLI's
usage errors and the web app's error pages in Chinese."""
import re
from datetime import date

import pytest
from sqlalchemy import select

from bot.cli import main
from storage.db import transaction
from storage.models import Organization
from tests.reminder_helpers import local

ENGLISH = re.compile(r"[A-Za-z_]{3,}")


def branch_settings(demo) -> dict:
    with transaction(demo.sessions) as s:
        return dict(s.scalars(select(Organization).where(Organization.name == "第一党支部")).one().settings or {})


def test_settings_are_shown_in_chinese(say):
    text = say("demo-shuji", "支部设置")
    for line in ("主题党日：每月20日", "主题党日遇节假日：提前到前一个工作日", "迟到界限：10分钟", "默认推送渠道：企业微信",
                 "党费取整方式：四舍五入到分", "农民党员每月党费：0.2元", "党费欠缴提醒月数：3个月", "参与率下限：80%"):
        assert line in text, (line, text)
    assert not ENGLISH.findall(text), ENGLISH.findall(text)


@pytest.mark.parametrize(("command", "key", "value", "shown"), [
    ("设置 党费取整方式 四舍五入", "dues_rounding", "half_up", "党费取整方式：四舍五入到分"),
    ("设置 党费取整方式 舍去", "dues_rounding", "down", "党费取整方式：舍去分以下"),
    ("设置 取整方式为去尾", "dues_rounding", "down", "党费取整方式：舍去分以下"),
    ("设置 迟到界限 15分钟", "late_after_minutes", 15, "迟到界限：15分钟"),
    ("设置 迟到界限（分钟） 20", "late_after_minutes", 20, "迟到界限：20分钟"),
    ("设置 迟到界限：半小时", "late_after_minutes", 30, "迟到界限：30分钟"),
    ("设置 主题党日遇节假日 顺延", "theme_day_shift", "next", "主题党日遇节假日：顺延到后一个工作日"),
    ("设置 默认推送渠道 钉钉", "default_channel", "dingtalk", "默认推送渠道：钉钉"),
    ("设置 农民党员每月党费 5角", "farmer_dues", 0.5, "农民党员每月党费：0.5元"),
    ("设置 参与率 85%", "participation_threshold", 0.85, "参与率下限：85%"),
    # the stored keys and values stay as aliases
    ("设置 dues_rounding down", "dues_rounding", "down", "党费取整方式：舍去分以下"),
    ("设置 late_after_minutes 25", "late_after_minutes", 25, "迟到界限：25分钟"),
])
def test_settings_are_set_by_their_chinese_labels_and_values(demo, say, command, key, value, shown):
    reply = say("demo-shuji", command)
    assert "已修改" in reply and shown in reply, reply
    assert branch_settings(demo)[key] == value
    assert shown in say("demo-shuji", "支部设置")


@pytest.mark.parametrize(("command", "why"), [
    ("设置 党费取整方式 随便", "只能是 四舍五入到分 或 舍去分以下"),
    ("设置 默认推送渠道 短信", "只能是 企业微信 或 钉钉"),
    ("设置 迟到界限 很久", "分钟数"),
    ("设置 颜色 红色", "没有“颜色”这项设置"),
])
def test_a_refusal_names_the_chinese_choices(demo, say, command, why):
    reply = say("demo-shuji", command)
    assert "未修改" in reply and why in reply, reply
    assert not ENGLISH.findall(reply), reply
    assert branch_settings(demo) == {}


def test_the_chinese_values_take_effect(demo, say, clock):
    clock.set(local(date(2026, 12, 2), 10))
    say("demo-shuji", "设置 主题党日遇节假日 顺延")
    assert "主题党日：12月21日（周一）" in say("demo-dangyuan", "本月安排")  # the 20th is a Sunday
    say("demo-shuji", "设置 党费取整方式 舍去")
    assert "每月交纳党费 30.50 元" in say("demo-dangyuan", "月工资3050.5交多少党费")


# the command line ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "expect"), [
    ([], "缺少必填的参数：命令"),
    (["foo"], "没有“foo”这一项"),
    (["say", "你好"], "缺少必填的参数：--as"),
    (["say", "--as"], "--as 后面要写一个值"),
    (["serve", "--port", "abc"], "--port 的值“abc”无效"),
    (["demo", "--quick"], "不认识的参数：--quick"),
])
def test_cli_usage_errors_are_chinese(capsys, argv, expect):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert expect in err and "用法：zhibu" in err, err
    for english in ("usage:", "error:", "the following", "invalid", "unrecognized", "expected"):
        assert english not in err


def test_cli_help_is_chinese(capsys):
    with pytest.raises(SystemExit):
        main(["say", "--help"])
    out = capsys.readouterr().out
    assert "用法：zhibu say" in out and "显示这段帮助后退出" in out and "选项" in out
    assert "usage:" not in out and "show this help" not in out and "options:" not in out


# the web app --------------------------------------------------------------------------------------------------

@pytest.fixture
def client(demo):
    from bot.app import create_app

    app = create_app(runtime=demo)

    @app.get("/test-failure")
    def failing():
        raise RuntimeError("boom")

    return app.test_client()


@pytest.mark.parametrize(("method", "path", "status", "title"), [
    ("get", "/no-such-page", 404, "找不到这个页面"),
    ("post", "/healthz", 405, "不能这样打开这个地址"),
    ("get", "/test-failure", 500, "服务器出错了"),
])
def test_web_error_pages_are_chinese(client, method, path, status, title):
    response = getattr(client, method)(path)
    body = response.get_data(as_text=True)
    assert response.status_code == status and title in body, body
    assert "Not Found" not in body and "Method Not Allowed" not in body and "Internal Server Error" not in body
    assert "boom" not in body and "Traceback" not in body
    asked_json = getattr(client, method)(path, headers={"Accept": "application/json"})
    assert asked_json.status_code == status and asked_json.get_json()["error"] == title
