"""Brings the service up the way deploy/README.md says, without Docker or systemd, and drives it over loopback.

`zhibu db upgrade`, then `gunicorn -c deploy/gunicorn.conf.py 'bot.app:create_app()'` (ZHIBU_BIND on a free port)
and `zhibu scheduler` as a second process, each with the environment the operator's /etc/zhibu/zhibu.env would give.
Used by tests/test_deploy_script.py and the restart tests; `python -m tests.deploy_smoke` runs the smoke check on a
throwaway PostgreSQL cluster and prints each step.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VECTORS = json.loads((Path(__file__).parent / "data" / "wecom_vectors.json").read_text(encoding="utf-8"))
OFFICIAL = VECTORS["official_wecom_sample"]


def official_wecom_env() -> dict[str, str]:
    """The WeCom settings of the official sample (its URL-verification vector must then answer)."""
    return {"ZHIBU_WECOM_CORP_ID": OFFICIAL["receive_id_corpid"], "ZHIBU_WECOM_AGENT_ID": "1000002",
            "ZHIBU_WECOM_SECRET": "deploy-smoke-secret", "ZHIBU_WECOM_TOKEN": OFFICIAL["token"],
            "ZHIBU_WECOM_AES_KEY": OFFICIAL["encoding_aes_key"]}


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


class Deployment:
    """The two processes of a deployment, on one database, with their output in `folder`."""

    def __init__(self, database_url: str, port: int, folder: Path, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.folder = folder
        self.base = f"http://127.0.0.1:{port}"
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("ZHIBU_", "GUNICORN_"))}
        self.env = {**keep, "ZHIBU_DATABASE_URL": database_url, "ZHIBU_SECRET_KEY": "deploy-smoke-secret-0123456789abcdef",
                    "ZHIBU_PUBLIC_URL": self.base, "ZHIBU_BIND": f"127.0.0.1:{port}", **(env or {})}
        self.web: subprocess.Popen | None = None
        self.scheduler: subprocess.Popen | None = None
        self._starts = 0

    def zhibu(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "zhibu"), *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=120)

    def upgrade(self) -> None:
        done = self.zhibu("db", "upgrade")
        assert done.returncode == 0, done.stderr + done.stdout

    def start_web(self, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        self._starts += 1
        log = (self.folder / f"web-{self._starts}.log").open("wb")
        self.web = subprocess.Popen([str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "bot.app:create_app()"],
                                    cwd=ROOT, env={**self.env, **(extra_env or {})}, stdout=log,
                                    stderr=subprocess.STDOUT)
        return self.web

    def web_log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.folder.glob("web-*.log")))

    def start_scheduler(self) -> subprocess.Popen:
        log = (self.folder / "scheduler.log").open("wb")
        self.scheduler = subprocess.Popen([str(BIN / "zhibu"), "scheduler"], cwd=ROOT, env=self.env, stdout=log,
                                          stderr=subprocess.STDOUT)
        return self.scheduler

    def wait_for(self, path: str, status: int = 200, seconds: float = 90.0) -> tuple[int, bytes]:
        deadline = time.monotonic() + seconds
        last: tuple[int, bytes] = (0, b"")
        while time.monotonic() < deadline:
            if self.web is not None and self.web.poll() is not None:
                raise AssertionError(f"gunicorn exited ({self.web.returncode}):\n{self.web_log()[-3000:]}")
            try:
                last = get(self.base + path, timeout=5)
                if last[0] == status:
                    return last
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{path} never answered {status} (last: {last}):\n{self.web_log()[-3000:]}")

    def workers(self) -> list[int]:
        """The gunicorn master's worker processes (by the master's pid: nothing else is touched)."""
        assert self.web is not None
        pid = self.web.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(c) for c in children]

    def kill_workers(self) -> list[int]:
        killed = self.workers()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        return killed

    @staticmethod
    def stop(proc: subprocess.Popen | None, seconds: float = 30.0) -> int | None:
        """SIGTERM and wait, as systemd's stop does; the return code (SIGKILL only if it does not stop in time)."""
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else None
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"process {proc.pid} did not stop within {seconds:.0f} s of SIGTERM") from None

    def close(self) -> None:
        for proc in (self.web, self.scheduler):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def smoke(deployment: Deployment, say=print) -> None:
    """The checks of the deployment test, step by step."""
    deployment.upgrade()
    say("zhibu db upgrade: ok")
    deployment.start_web()
    status, body = deployment.wait_for("/healthz")
    say(f"/healthz: {status} {body.decode()}")
    status, body = get(deployment.base + "/readyz")
    problems = json.loads(body)
    assert status == 503 and problems["status"] == "not_ready", (status, body)
    assert any("zhibu scheduler" in p for p in problems["problems"]), problems
    say(f"/readyz before the scheduler: {status} {body.decode()}")
    vector = OFFICIAL["url_verification"]
    status, body = get(f"{deployment.base}/wecom/callback?{vector['query_string_as_sent']}")
    assert (status, body) == (200, vector["expected_response_body"].encode()), (status, body)
    say(f"WeCom official URL-verification vector: {status} {body.decode()!r}")
    deployment.start_scheduler()
    status, body = deployment.wait_for("/readyz", 200, seconds=60)
    assert json.loads(body)["status"] == "ok"
    say(f"/readyz with the scheduler running: {status} {body.decode()}")
    web_rc, scheduler_rc = deployment.stop(deployment.web), deployment.stop(deployment.scheduler)
    assert (web_rc, scheduler_rc) == (0, 0), (web_rc, scheduler_rc)
    say("gunicorn and zhibu scheduler stopped on SIGTERM with exit code 0")


def main() -> int:
    import tempfile

    from tests.pg import Cluster, free_port

    cluster = Cluster().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            deployment = Deployment(cluster.create_db("zhibu"), free_port(), Path(tmp), official_wecom_env())
            try:
                smoke(deployment)
            finally:
                deployment.close()
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
