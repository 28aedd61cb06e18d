"""The deployment of deploy/README.md, without Docker or systemd: PostgreSQL, `zhibu db upgrade`, gunicorn with
deploy/gunicorn.conf.py and `zhibu scheduler`, checked over loopback (tests/deploy_smoke.py does the steps)."""
from __future__ import annotations

from tests.deploy_smoke import OFFICIAL, Deployment, official_wecom_env, smoke
from tests.pg import free_port


def test_deployment_comes_up_answers_and_stops(pg_cluster, tmp_path):
    deployment = Deployment(pg_cluster.create_db("deploy_smoke"), free_port(), tmp_path, official_wecom_env())
    steps: list[str] = []
    try:
        smoke(deployment, say=steps.append)
    finally:
        deployment.close()
    assert len(steps) == 6
    # the access log leaves out query strings: WeCom's signature and echostr never reach it
    log = deployment.web_log()
    assert '"GET /wecom/callback HTTP/1.1" 200' in log
    assert "msg_signature" not in log and OFFICIAL["url_verification"]["nonce"] not in log
    assert "Booting worker" in log and "Shutting down: Master" in log
    scheduler_log = (tmp_path / "scheduler.log").read_text()
    assert "提醒调度已启动" in scheduler_log and "提醒调度已停止" in scheduler_log

