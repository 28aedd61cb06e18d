"""The Flask app factory. Channels register their blueprints here; handlers never see Flask."""
from __future__ import annotations

from flask import Flask, jsonify
from sqlalchemy import text

from bot.runtime import Runtime, build_runtime
from bot.settings import Settings, load_settings


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    runtime = runtime or build_runtime(settings or load_settings())
    app = Flask("zhibu")
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.extensions["zhibu"] = runtime

    @app.get("/healthz")
    def healthz():
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return jsonify(status="error", problem="数据库无响应"), 503
        return jsonify(status="ok")

    from bot.web_files import files_blueprint

    app.register_blueprint(files_blueprint(runtime))

    return app
