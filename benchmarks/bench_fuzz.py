"""Heavy endpoint fuzzing: the light test's strategies (tests/reliability/fuzz_harness.py) with thousands of examples.

Prints how many requests each endpoint answered with each status; the run fails (raises) on any 500, any status
other than 200/400/403, any row stored by a refused request, a hostile request (issue #24's classes) not refused,
or any answer slower than 1 s. The baseline is the same count of a plain 404 path
(nothing to fuzz) so the figures sit beside something measured in the same run."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.report import Figure

EXAMPLES = int(os.environ.get("BENCH_FUZZ_EXAMPLES", "1000"))


def main() -> list[Figure]:
    from bot.demo import seed_demo
    from bot.intent import Segmenter
    from storage.db import make_engine, make_session_factory, transaction, upgrade
    from tests.conftest import WECOM_AGENT_ID, WECOM_CORP_ID, WECOM_SECRET, Clock
    from tests.fakes.dingtalk_server import FakeDingtalk
    from tests.fakes.tls import make_cert
    from tests.fakes.wecom_server import FakeWecomServer
    from tests.reliability.fuzz_harness import (
        DINGTALK_URL,
        MUST_REFUSE,
        WECOM_URL,
        Fuzzer,
        build_fuzz_runtime,
        dingtalk_near_miss,
        hostile_request,
        random_body,
        random_headers,
        random_query,
        wecom_near_miss,
    )

    heavy = settings(max_examples=EXAMPLES, deadline=None, database=None,
                     suppress_health_check=list(HealthCheck))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'zhibu.db'}"
        upgrade(url)
        engine = make_engine(url)
        with transaction(make_session_factory(engine)) as session:
            seed_demo(session)
        engine.dispose()
        clock = Clock()
        dingtalk = FakeDingtalk(clock=clock, tls=make_cert(folder)).start()
        try:
            with FakeWecomServer(corp_id=WECOM_CORP_ID, secret=WECOM_SECRET, agent_id=WECOM_AGENT_ID) as wecom:
                rt = build_fuzz_runtime(url, wecom.url, dingtalk.base_url, clock, Segmenter())
                rt.services.extras["kb"].get()  # as a served worker does at start (bot.serve.warm_worker)
                fuzzer = Fuzzer(rt, clock)

                @heavy
                @given(query=random_query(), headers=random_headers)
                def wecom_get(query, headers):
                    fuzzer.send("wecom GET", "GET", f"{WECOM_URL}?{query}", headers=headers)

                @heavy
                @given(query=random_query(), headers=random_headers, body=random_body)
                def wecom_post(query, headers, body):
                    fuzzer.send("wecom POST", "POST", f"{WECOM_URL}?{query}", body=body, headers=headers)

                @heavy
                @given(query=random_query(), headers=random_headers, body=random_body)
                def dingtalk_post(query, headers, body):
                    fuzzer.send("dingtalk POST", "POST", f"{DINGTALK_URL}?{query}", body=body, headers=headers)

                @heavy
                @given(data=st.data())
                def near_misses(data):
                    for strategy in (wecom_near_miss(fuzzer), dingtalk_near_miss(fuzzer)):
                        kind, endpoint, method, path, body, headers = data.draw(strategy)
                        status = fuzzer.send(endpoint, method, path, body=body, headers=headers)
                        assert kind not in MUST_REFUSE or status in (400, 403), f"{kind} was accepted"
                    kind, endpoint, method, path, body, headers, expected = data.draw(hostile_request(fuzzer))
                    status = fuzzer.send(endpoint, method, path, body=body, headers=headers)
                    assert status == expected, f"{kind} answered {status}, not {expected}"

                started = time.perf_counter()
                for run in (wecom_get, wecom_post, dingtalk_post, near_misses):
                    run()
                seconds = time.perf_counter() - started
                slowest = max(fuzzer.slowest.values())
                assert slowest <= 1.0, f"a fuzzed request took {slowest:.2f} s: {fuzzer.report()}"
                total = sum(sum(c.values()) for c in fuzzer.counts.values())
                print(f"   fuzz counts: {fuzzer.report()}", flush=True)
                baseline_started = time.perf_counter()
                for _ in range(500):
                    fuzzer.http.get("/no-such-page")
                baseline = (time.perf_counter() - baseline_started) / 500
                rt.close()
        finally:
            dingtalk.stop()
    figures = [Figure("fuzzed requests, all answered 200/400/403 with nothing stored on refusal", total, "requests")]
    for endpoint, counts in sorted(fuzzer.counts.items()):
        for status, n in sorted(counts.items()):
            figures.append(Figure(f"{endpoint} answered {status}", n, "requests"))
    figures.append(Figure("mean time per fuzzed request", seconds / total * 1000, "ms", baseline * 1000,
                          "a 404 through the same test client"))
    figures.append(Figure("slowest fuzzed request (at most 1 s)", slowest * 1000, "ms"))
    return figures
