# gunicorn -c deploy/gunicorn.conf.py 'bot.app:create_app()'
# The same options `zhibu serve` uses; ZHIBU_BIND overrides the address (default 127.0.0.1:8000, behind nginx).
import os

from bot.serve import gunicorn_options

globals().update(gunicorn_options(os.environ.get("ZHIBU_BIND", "127.0.0.1:8000"),
                                  os.environ.get("ZHIBU_DATABASE_URL", "sqlite:///zhibu.db")))
