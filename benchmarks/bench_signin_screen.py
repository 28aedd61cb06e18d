"""The projector page's cost on the server: every open screen polls state.json every 2 seconds, and fetches a new QR
every 30. Measured in-process through Flask's test client on SQLite, beside /healthz (one SELECT 1) in the same run,
for a branch of 100 members with 60 signed in.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.report import Figure

MEMBERS = 100
SIGNED_IN = 60
REQUESTS = 300


def _ms(client, path: str, n: int) -> float:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        resp = client.get(path)
        samples.append(1000 * (time.perf_counter() - started))
        assert resp.status_code == 200, resp.status_code
    return statistics.median(samples)


def main() -> list[Figure]:
    from sqlalchemy import select

    from bot.app import create_app
    from bot.channels import console
    from bot.demo import seed_demo
    from bot.runtime import build_runtime
    from bot.settings import load_settings
    from storage.db import transaction, upgrade
    from storage.models import Member, Organization

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        rt = build_runtime(load_settings({"ZHIBU_DATABASE_URL": url, "ZHIBU_SECRET_KEY": "bench-secret-0123456789"},
                                         dotenv=None))
        try:
            with transaction(rt.sessions) as s:
                seed_demo(s)
                branch = s.scalars(select(Organization).where(Organization.name == "第一党支部")).one()
                for i in range(MEMBERS):
                    s.add(Member(name=f"党员{i:03d}", organization_id=branch.id, wecom_userid=f"bench-{i:03d}",
                                 mobile=f"1380000{i:04d}", category="正式"))
            reply = console.say(rt.router, "demo-shuji", "发起签到 主题党日")[0]
            code = reply.split("签到码：", 1)[1][:4]
            link = next(w for w in reply.split("：") if "/signin/screen/" in w).split()[0]
            for i in range(SIGNED_IN):
                console.say(rt.router, f"bench-{i:03d}", f"签到 {code}")
            client = create_app(runtime=rt).test_client()
            screen = urlsplit(link).path
            state = client.get(screen + "/state.json").get_json()
            assert state["attended"] == SIGNED_IN, state["attended"]
            qr_path = f"{screen}/{state['qr']}"
            for path in ("/healthz", screen + "/state.json", qr_path):
                _ms(client, path, 20)  # warm up
            health = _ms(client, "/healthz", REQUESTS)
            poll = _ms(client, screen + "/state.json", REQUESTS)
            qr = _ms(client, qr_path, REQUESTS // 10)
        finally:
            rt.close()
    screens_per_core = 2000 / poll  # each screen asks every 2 s
    return [
        Figure(f"state.json, {MEMBERS + 12} expected / {SIGNED_IN} signed in (median)", poll, "ms", health,
               "/healthz"),
        Figure("qr.svg, one new QR per 30 s (median)", qr, "ms", health, "/healthz"),
        Figure("projector screens one core can keep polling", screens_per_core, "screens"),
    ]
