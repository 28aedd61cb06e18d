"""The Flask app factory. Channels mount their endpoints here; handlers never see Flask."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy import text

from bot.runtime import Runtime, build_runtime
from bot.settings import Settings, load_settings
from storage.db import is_current
from storage.heartbeats import SCHEDULER, is_fresh, last_beat


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    if runtime is None:
        settings = settings or load_settings()
        logging.getLogger().setLevel(settings.log_level)  # ZHIBU_LOG_LEVEL, for gunicorn workers
        runtime = build_runtime(settings)
    runtime.services.segmenter.warm()  # jieba's dictionary: once per process, at start-up
    app = Flask("zhibu")
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.extensions["zhibu"] = runtime

    @app.get("/healthz")
    def healthz():
        """Liveness: the process and the database answer."""
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return jsonify(status="error", problems=["数据库无响应"]), 503
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        """Readiness: the database answers, its schema is current, and the scheduler's heartbeat is fresh."""
        problems = []
        try:
            if not is_current(runtime.engine):
                problems.append("数据库结构不是最新：请运行 zhibu db upgrade")
            with runtime.reading() as session:
                beat_at = last_beat(session, SCHEDULER)
            if not is_fresh(beat_at, runtime.services.clock()):
                problems.append("定时任务进程没有心跳：请检查 zhibu scheduler 是否在运行"
                                + (f"（最后一次 {beat_at.astimezone(runtime.settings.tz):%Y-%m-%d %H:%M}）" if beat_at else ""))
        except Exception:
            problems.append("数据库无响应")
        if problems:
            return jsonify(status="not_ready", problems=problems), 503
        return jsonify(status="ok")

    from bot.channels import mount

    mount(app, runtime)  # each configured platform's endpoints (before the pages that ask runtime.identities)

    from bot.web_files import files_blueprint

    app.register_blueprint(files_blueprint(runtime))

    from bot.web_signin import signin_blueprint

    app.register_blueprint(signin_blueprint(runtime))

    from bot.web_console import console_blueprint

    app.register_blueprint(console_blueprint(runtime))

    from bot.web_errors import register_error_pages

    register_error_pages(app)  # 404, 405 and 500 in Chinese
    return app
