# gunicorn -c deploy/gunicorn.conf.py 'bot.app:create_app()'
# The same options `zhibu serve` uses; ZHIBU_BIND overrides the address (default 127.0.0.1:8000, behind nginx).
# Like `zhibu serve`, it refuses to start without a secret key of its own (one line naming ZHIBU_SECRET_KEY).
import os
import sys

from bot.serve import gunicorn_options
from bot.settings import SettingsError, load_settings, require_service_secret

try:
    require_service_secret(load_settings())
except SettingsError as err:
    print(f"配置错误：{err}", file=sys.stderr)
    sys.exit(1)

globals().update(gunicorn_options(os.environ.get("ZHIBU_BIND", "127.0.0.1:8000"),
                                  os.environ.get("ZHIBU_DATABASE_URL", "sqlite:///zhibu.db")))
