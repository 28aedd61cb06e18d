"""The shipped nginx site logs no bearer token: its `map` replaces a signed link's token by '…' for the same paths
as bot/log_redact.py, and its log_format uses that instead of $uri. Checked by reading the file and, where nginx is
installed, by serving requests through the shipped map and log_format and reading the access log."""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.log_redact import redact_path
from tests.pg import free_port

CONF = Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "zhibu.conf"
TOKEN = "eyJkIjp7Im0iOjF9LCJleHAiOjE4MDAwMDAwMDB9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
PATHS = {
    f"/signin/screen/{TOKEN}": "/signin/screen/…",
    f"/signin/screen/{TOKEN}/state.json": "/signin/screen/…/state.json",
    f"/signin/screen/{TOKEN}/qr.svg": "/signin/screen/…/qr.svg",
    f"/signin/s/{TOKEN}": "/signin/s/…",
    f"/files/term-letter/{TOKEN}": "/files/term-letter/…",
    f"/console/login/{TOKEN}": "/console/login/…",
    "/wecom/callback": "/wecom/callback",
    "/signin/wecom/callback": "/signin/wecom/callback",
}


def shipped() -> tuple[str, str]:
    """The site's map block and log_format statement, as written."""
    text = CONF.read_text(encoding="utf-8")
    block = re.search(r"^map \$uri \$zhibu_log_uri \{.*?^\}", text, re.S | re.M)
    log_format = re.search(r"^log_format zhibu .*?;\s*$", text, re.S | re.M)
    assert block and log_format, "deploy/nginx/zhibu.conf has no `map $uri $zhibu_log_uri` or `log_format zhibu`"
    return block.group(0), log_format.group(0)


def nginx_map(block: str, uri: str) -> str:
    """What nginx's map gives for `uri`: the first matching regex's value with its named captures, else default."""
    for pattern, value in re.findall(r'^\s*"~(.+?)"\s+"(.+?)";', block, re.M):
        found = re.match(pattern.replace("(?<", "(?P<"), uri)
        if found:
            captures = found.groupdict(default="")
            for name, text in captures.items():
                value = value.replace("${" + name + "}", text)
            return value
    return uri


def test_the_map_redacts_what_the_app_redacts():
    block, log_format = shipped()
    assert "$zhibu_log_uri" in log_format and "$uri" not in log_format.replace("$zhibu_log_uri", "")
    assert "$request " not in log_format and "$request_uri" not in log_format and "$args" not in log_format
    assert re.search(r"access_log\s+\S+\s+zhibu;", CONF.read_text(encoding="utf-8"))
    for uri, logged in PATHS.items():
        assert nginx_map(block, uri) == logged == redact_path(uri)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_access_log_of_served_requests(tmp_path):
    block, log_format = shipped()
    port = free_port()
    for d in ("logs", "tmp"):
        (tmp_path / d).mkdir()
    (tmp_path / "nginx.conf").write_text(f"""
daemon off;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/logs/error.log;
events {{}}
http {{
    client_body_temp_path {tmp_path}/tmp/body;
    proxy_temp_path {tmp_path}/tmp/proxy;
    fastcgi_temp_path {tmp_path}/tmp/fastcgi;
    uwsgi_temp_path {tmp_path}/tmp/uwsgi;
    scgi_temp_path {tmp_path}/tmp/scgi;
{block}
{log_format}
    server {{
        listen 127.0.0.1:{port};
        access_log {tmp_path}/logs/access.log zhibu;
        location / {{ return 204; }}
    }}
}}
""", encoding="utf-8")
    proc = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"nginx did not start: {proc.communicate()[0]}")
                time.sleep(0.1)
        for uri in PATHS:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{uri}?msg_signature=s3cr3t", timeout=5).close()
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful: the log is flushed
        proc.communicate(timeout=30)
    log = (tmp_path / "logs" / "access.log").read_text(encoding="utf-8")
    assert TOKEN not in log and TOKEN.split(".")[0] not in log and "s3cr3t" not in log
    for logged in PATHS.values():
        assert f'"GET {logged}"' in log, log
