"""Headless Chromium (Debian's package) driven over the DevTools protocol, for page tests on loopback.

    with Browser.start(tmp_path) as browser:
        browser.open("http://127.0.0.1:PORT/page")
        browser.wait_for("document.title != ''")
        png = browser.screenshot()

The user-data-dir is fresh per run and every background service is off, so nothing is fetched from the internet.
"""
from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-default-browser-check", "--disable-extensions", "--no-proxy-server", "--mute-audio",
         "--hide-scrollbars", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(RuntimeError):
    pass


class Browser:
    def __init__(self, proc: subprocess.Popen, port: int, ws) -> None:
        self.proc = proc
        self.port = port
        self.ws = ws
        self._ids = itertools.count(1)
        self._stack = contextlib.ExitStack()

    @classmethod
    def start(cls, workdir: Path, width: int = 1600, height: int = 900, timeout: float = 60) -> Browser:
        from websockets.sync.client import connect

        exe = chromium_path()
        if exe is None:
            raise BrowserError("chromium not installed")
        profile = workdir / "chromium-profile"
        profile.mkdir(parents=True)
        log = open(workdir / "chromium.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                                 "about:blank"], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        port_file = profile / "DevToolsActivePort"
        try:
            while not port_file.exists() or not port_file.read_text().strip():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise BrowserError(f"chromium did not start: {(workdir / 'chromium.log').read_text()[-2000:]}")
                time.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            while True:
                pages = [t for t in requests.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
                         if t.get("type") == "page"]
                if pages:
                    break
                if time.monotonic() > deadline:
                    raise BrowserError("chromium opened no page")
                time.sleep(0.1)
            stack = contextlib.ExitStack()
            ws = stack.enter_context(connect(pages[0]["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024,
                                             open_timeout=10))
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        browser = cls(proc, port, ws)
        browser._stack = stack
        browser.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                     mobile=False)
        return browser

    def call(self, method: str, timeout: float = 30, **params) -> dict:
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"{method}: no answer")
            msg = json.loads(self.ws.recv(timeout=left))
            if msg.get("id") == msg_id:  # events (no id) are not used
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def eval(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20):
        """Poll a JavaScript expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.eval(expression)
            except BrowserError:
                value = None  # the page is still loading
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for: {expression}")
            time.sleep(0.2)

    def screenshot(self) -> bytes:
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def close(self) -> None:
        try:
            self._stack.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _LateApp:
    """The server must be listening (its port known) before the app, whose public URL names that port, exists."""

    def __init__(self) -> None:
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@contextmanager
def serving(demo_db_template: Path, tmp_path: Path, make_runtime) -> Iterator[tuple[Any, str]]:
    """A copy of the demo database served by the real app on a loopback port: `make_runtime(db_url, base)` builds
    the runtime (its public URL is `base`); yields (runtime, base) and stops the server and the runtime after."""
    from werkzeug.serving import make_server

    from bot.app import create_app

    late = _LateApp()
    server = make_server("127.0.0.1", 0, late, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    path = tmp_path / "zhibu.db"
    shutil.copyfile(demo_db_template, path)
    rt = make_runtime(f"sqlite:///{path}", base)
    late.app = create_app(runtime=rt)
    threading.Thread(target=server.serve_forever, name="zhibu-web", daemon=True).start()
    try:
        yield rt, base
    finally:
        server.shutdown()
        server.server_close()
        rt.close()
