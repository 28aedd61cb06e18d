"""`zhibu serve`: gunicorn in production, the Flask development server only with --dev."""
from __future__ import annotations

import multiprocessing
from typing import Any

from gunicorn.glogging import Logger

from bot.log_redact import redact_path

# the access log leaves out the query string: WeCom callbacks carry their signatures there
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'


class RedactingLogger(Logger):
    """gunicorn's logger with the bearer token of a signed link (/files/…, /signin/screen/…) replaced by '…' in the
    path, and the request line without its query string, whatever access_log_format asks for."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(environ.get("PATH_INFO"))
        atoms["U"] = path
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        return atoms


def warm_worker(worker) -> None:
    """Build the knowledge-base index when a worker starts, so no member's first question pays for it."""
    runtime = getattr(worker.wsgi, "extensions", {}).get("zhibu")
    kb = runtime.services.extras.get("kb") if runtime else None
    if kb is not None:
        try:
            kb.get()
        except Exception:  # broken entry files: the handler says so to members; `zhibu kb check` tells the operator
            worker.log.warning("知识库加载失败：请运行 zhibu kb check")


def gunicorn_options(bind: str = "127.0.0.1:8000", database_url: str = "") -> dict[str, Any]:
    cores = multiprocessing.cpu_count()
    # A worker per core (at least two, so one restarting never leaves none). Request threads only wait: on the
    # platform's budget while the worker's handler pool (ZHIBU_HANDLER_THREADS) routes the message. SQLite takes one
    # writer at a time, so more workers there only queue on its lock. Compare setups with
    # BENCH_WECOM_CONFIGS=postgres:4x8,postgres:2x8 python -m benchmarks wecom
    workers = 2 if database_url.startswith("sqlite") else min(max(cores, 2), 8)
    threads = 8
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        # WeCom waits 5 s and DingTalk about as long: a request still running long after that is stuck
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "limit_request_line": 8190,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": RedactingLogger,
        "errorlog": "-",
        "post_worker_init": warm_worker,
    }


def run_gunicorn(bind: str, database_url: str) -> None:
    from gunicorn.app.base import BaseApplication

    class ZhibuApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(bind, database_url).items():
                self.cfg.set(key, value)

        def load(self):
            from bot.app import create_app

            return create_app()

    ZhibuApplication().run()
