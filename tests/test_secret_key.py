"""No known secret key in a service: serve, scheduler and dingtalk-stream (and the deployed gunicorn) refuse to start
with a key that is unset, short or published; `zhibu demo` writes a random one into ./.env; say and chat need none."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k3Jd9-Qx_w2Lr7TzP0aVb5NcHy8UeFm4"  # 32 characters nobody published
STREAM_ENV = {"ZHIBU_DINGTALK_APP_KEY": "k", "ZHIBU_DINGTALK_APP_SECRET": "s", "ZHIBU_DINGTALK_ROBOT_CODE": "r",
              "ZHIBU_DINGTALK_MODE": "stream"}
WEAK_KEYS = {
    "unset": None,
    "short": "a-31-character-key-0123456789ab",
    "built_in": "dev-only-secret-change-me",
    "env_example": "change-me-to-a-long-random-string",
}


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A working directory with no .env and no ZHIBU_ variables but an (unmigrated) database of its own."""
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("ZHIBU_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("ZHIBU_DATABASE_URL", f"sqlite:///{tmp_path / 'zhibu.db'}")
    return tmp_path


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    return {**env, "ZHIBU_DATABASE_URL": f"sqlite:///{tmp_path / 'zhibu.db'}", "PYTHONPATH": str(ROOT), **extra}


@pytest.mark.parametrize("command", [["serve"], ["serve", "--dev"], ["scheduler"], ["dingtalk-stream"]])
@pytest.mark.parametrize("weak", sorted(WEAK_KEYS))
def test_services_refuse_a_missing_short_or_published_key(scratch, monkeypatch, capsys, command, weak):
    for key, value in STREAM_ENV.items():
        monkeypatch.setenv(key, value)
    if WEAK_KEYS[weak] is not None:
        monkeypatch.setenv("ZHIBU_SECRET_KEY", WEAK_KEYS[weak])
    assert main(command) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ZHIBU_SECRET_KEY" in err, err
    assert WEAK_KEYS[weak] is None or WEAK_KEYS[weak] not in err  # the key itself is never printed


def test_a_good_key_passes_the_check(scratch, monkeypatch, capsys):
    from bot.settings import require_service_secret

    monkeypatch.setenv("ZHIBU_SECRET_KEY", GOOD_KEY)
    assert main(["serve"]) == 1  # the next check stops it: the database is not migrated
    err = capsys.readouterr().err
    assert "ZHIBU_SECRET_KEY" not in err and "zhibu db upgrade" in err
    require_service_secret(load_settings({"ZHIBU_SECRET_KEY": GOOD_KEY}, dotenv=None))


def test_local_commands_work_without_a_key(scratch, capsys):
    """say and chat sign links with a key of their own process: nothing a server would accept."""
    from bot.settings import require_service_secret

    a, b = load_settings({}, dotenv=None), load_settings({}, dotenv=None)
    assert a.secret_key != b.secret_key and len(a.secret_key) >= 32
    with pytest.raises(SettingsError, match="^ZHIBU_SECRET_KEY:"):
        require_service_secret(a)
    assert a.secret_key not in repr(a)
    assert main(["say", "--as", "demo-shuji", "帮助"]) == 1  # refused for the database, not for the key
    assert "zhibu db upgrade" in capsys.readouterr().err


def test_deployed_gunicorn_refuses_a_published_key(tmp_path):
    """`gunicorn -c deploy/gunicorn.conf.py` (the systemd unit and docker-compose) checks the same way."""
    from tests.pg import free_port

    env = child_env(tmp_path, ZHIBU_SECRET_KEY="change-me-to-a-long-random-string",
                    ZHIBU_BIND=f"127.0.0.1:{free_port()}")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "bot.app:create_app()"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1
    assert err.strip().count("\n") == 0 and "ZHIBU_SECRET_KEY" in err, err


def test_demo_writes_a_random_key_into_dotenv_once(tmp_path):
    from bot.settings import require_service_secret

    def zhibu(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, env=child_env(tmp_path, **extra),
                              capture_output=True, text=True, timeout=120)

    first = zhibu("demo")
    assert first.returncode == 0, first.stderr
    dotenv = tmp_path / ".env"
    written = load_settings({}, dotenv=dotenv)
    require_service_secret(written)  # `zhibu serve` would start with it
    assert (dotenv.stat().st_mode & 0o077) == 0  # readable by its owner only
    assert zhibu("demo").returncode == 0
    assert load_settings({}, dotenv=dotenv).secret_key == written.secret_key  # kept, not replaced
    assert zhibu("say", "--as", "demo-shuji", "帮助").returncode == 0


def test_demo_leaves_a_key_it_was_given(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bot.cli", "demo"], cwd=tmp_path,
                          env=child_env(tmp_path, ZHIBU_SECRET_KEY=GOOD_KEY), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / ".env").exists()
    existing = tmp_path / "other"
    existing.mkdir()
    (existing / ".env").write_text("ZHIBU_TIMEZONE=Asia/Shanghai")  # no newline at the end
    done = subprocess.run([sys.executable, "-m", "bot.cli", "demo"], cwd=existing, env=child_env(existing),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    settings = load_settings({}, dotenv=existing / ".env")
    assert settings.timezone == "Asia/Shanghai" and not settings.secret_key_generated
