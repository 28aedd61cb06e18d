"""The `zhibu` command as an operator uses it: a real process, a real SQLite file in a scratch directory."""
import os
import subprocess
import sys

import pytest


@pytest.fixture
def zhibu(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    env["ZHIBU_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"

    def run(*args, extra_env=None, stdin=""):
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, env={**env, **(extra_env or {})},
                              input=stdin, capture_output=True, text=True, timeout=120)
    return run


def test_demo_say_and_exit_codes(zhibu):
    first = zhibu("demo")
    assert first.returncode == 0, first.stderr
    assert "demo-shuji" in first.stdout and "党员新增 21 人" in first.stdout
    again = zhibu("demo")
    assert "党员新增 0 人" in again.stdout and "无变化 21 人" in again.stdout

    member = zhibu("say", "--as", "demo-dangyuan", "帮助")
    secretary = zhibu("say", "--as", "demo-shuji", "帮助")
    nobody = zhibu("say", "--as", "nobody", "帮助")
    assert member.returncode == 0 and "我的信息" in member.stdout and "〔支部委员〕" not in member.stdout
    assert secretary.returncode == 0 and "〔支部委员〕" in secretary.stdout
    assert nobody.returncode == 2 and "不在支部助手的党员名单里" in nobody.stdout
    applicant = zhibu("say", "--as", "demo-shenqing", "我的入党进度")  # 杨帆: in the 发展 pipeline, not the roster
    assert applicant.returncode == 0 and "杨帆同志，你的入党进度" in applicant.stdout

    chat = zhibu("chat", "--as", "demo-yubei", stdin="我的信息\n退出\n")
    assert chat.returncode == 0 and "陈晨" in chat.stdout


def test_say_before_migration_says_what_to_do(zhibu):
    result = zhibu("say", "--as", "demo-shuji", "帮助")
    assert result.returncode == 1 and "zhibu db upgrade" in result.stderr


def test_bad_setting_is_one_line(zhibu):
    result = zhibu("db", "upgrade", extra_env={"ZHIBU_TIMEZONE": "Nowhere/City"})
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "ZHIBU_TIMEZONE" in result.stderr


def test_roster_cli_round_trip_and_refusal(zhibu, tmp_path):
    assert zhibu("demo").returncode == 0
    out = zhibu("roster", "export", "export.xlsx")
    # the demo's 21 members and the 11 of 第三、第四党支部 that `zhibu demo` adds for 支部概况
    assert out.returncode == 0 and "5 个党组织、32 名党员" in out.stdout
    again = zhibu("roster", "import", "export.xlsx")
    assert again.returncode == 0 and "新增 0 人、更新 0 人、无变化 32 人" in again.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text("姓名,手机号,企业微信账号,钉钉账号,所在党组织,党员类别,入党日期,转正日期,职务\n"
                   "新人,123,,,第一党支部,正式,2020-01-01,2021-01-01,\n", encoding="utf-8")
    refused = zhibu("roster", "import", "bad.csv")
    assert refused.returncode == 1 and "未导入任何数据" in refused.stdout and "第 2 行「手机号」列" in refused.stdout

    assert zhibu("roster", "template", "t.xlsx").returncode == 0 and (tmp_path / "t.xlsx").exists()


def test_org_show_and_set(zhibu):
    assert zhibu("demo").returncode == 0
    ok = zhibu("org", "set", "第一党支部", "theme_day", "每月第三个周五")
    assert ok.returncode == 0 and "每月第三个周五" in ok.stdout
    bad = zhibu("org", "set", "第一党支部", "参与率下限", "abc")
    assert bad.returncode == 1 and "未修改" in bad.stderr
    unknown = zhibu("org", "show", "第九党支部")
    assert unknown.returncode == 1 and "没有名为“第九党支部”的党组织" in unknown.stderr
    shown = zhibu("org", "show", "第一党支部")
    assert "主题党日" in shown.stdout and "每月第三个周五" in shown.stdout


def test_remove_asks_when_ambiguous(zhibu):
    assert zhibu("demo").returncode == 0
    gone = zhibu("roster", "remove", "demo-b1-05", "--reason", "组织关系转出")
    assert gone.returncode == 0 and "已移除" in gone.stdout
    missing = zhibu("roster", "remove", "不存在的人")
    assert missing.returncode == 1 and "名单中没有" in missing.stderr


def test_serve_runs_gunicorn_with_healthz(zhibu, tmp_path):
    """The access log of served requests: no query string, and no signed link's token (a bearer token) in a path."""
    import time
    import urllib.error
    import urllib.request
    from datetime import UTC, datetime, timedelta

    from bot.settings import load_settings
    from bot.signin_links import SCAN, SCREEN
    from bot.signing import make_token
    from reminders.letter import LETTER_PURPOSE
    from tests.pg import free_port

    assert zhibu("demo").returncode == 0
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    env["ZHIBU_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    key = load_settings({}, dotenv=tmp_path / ".env").secret_key  # the one `zhibu demo` wrote
    later = datetime.now(UTC) + timedelta(hours=1)
    tokens = {purpose: make_token(key, purpose, data, later)
              for purpose, data in [(SCREEN, {"m": 1}), (SCAN, {"m": 1}), (LETTER_PURPOSE, {"org": 2, "on": "2026-12-15"})]}
    paths = [f"/signin/screen/{tokens[SCREEN]}", f"/signin/screen/{tokens[SCREEN]}/state.json",
             f"/signin/s/{tokens[SCAN]}", f"/files/{LETTER_PURPOSE}/{tokens[LETTER_PURPOSE]}"]
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        body = None
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz?signature=secret", timeout=2) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.25)
        assert body is not None and '"ok"' in body
        for path in paths:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).close()
            except urllib.error.HTTPError:
                pass  # an answer is all the log needs
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "gunicorn" in out.lower() or "Booting worker" in out
    assert "GET /healthz" in out and "signature=secret" not in out  # no query strings in the access log
    for token in tokens.values():
        assert token not in out and token.split(".")[0] not in out
    for logged in ("/signin/screen/… ", "/signin/screen/…/state.json", "/signin/s/… ", f"/files/{LETTER_PURPOSE}/… "):
        assert f"GET {logged}" in out, out[-3000:]
