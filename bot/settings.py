"""Process settings from ZHIBU_* environment variables (and an optional .env).

Every problem is reported as one line naming the variable, at start-up, never at the first message.
"""
from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.org_settings import RobotEndpoints

PREFIX = "ZHIBU_"
# keys anybody can read (the old built-in default, the .env.example placeholder): they sign nothing in a service
KNOWN_SECRET_KEYS = frozenset({"dev-only-secret-change-me", "change-me-to-a-long-random-string"})
SERVICE_SECRET_MIN = 32
SECRET_HINT = "请设为至少 32 个字符的随机值，可用 python3 -c 'import secrets; print(secrets.token_urlsafe(32))' 生成"


class SettingsError(ValueError):
    """A bad or missing setting; str() is the one line shown to the operator."""


@dataclass(frozen=True)
class WecomSettings:
    corp_id: str
    agent_id: int
    secret: str
    token: str
    aes_key: str
    api_base: str


@dataclass(frozen=True)
class DingtalkSettings:
    app_key: str
    app_secret: str
    robot_code: str
    corp_id: str
    mode: str
    api_base: str
    media_base: str = "https://oapi.dingtalk.com"  # media/upload lives on the old API host (ZHIBU_DINGTALK_ROBOT_BASE)


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///zhibu.db"
    timezone: str = "Asia/Shanghai"
    public_url: str = "http://127.0.0.1:8000"
    # "" (unset): a random key of this process only (__post_init__), so a link `zhibu say` makes works nowhere else
    secret_key: str = field(default="", repr=False)
    secret_key_generated: bool = False
    wecom: WecomSettings | None = None
    dingtalk: DingtalkSettings | None = None
    # the page WeCom opens for OAuth (scan to sign in); another address only for a test double
    wecom_oauth_url: str = "https://open.weixin.qq.com/connect/oauth2/authorize"
    log_level: str = "WARNING"
    database_prepare: int | None = 5  # psycopg's prepare_threshold; None: no prepared statements (transaction pooler)
    handler_threads: int = 8  # each process's pool that runs messages' handlers
    export_dir: str = "exports"  # where `zhibu say` / `zhibu chat` save the files replies bring (ZHIBU_EXPORT_DIR)
    dedupe_days: int = 7  # how long a message key is kept: longer than a platform retries or a message stays fresh
    # the only addresses a branch's group_webhook may name: the platforms' group-robot send URLs on these API hosts
    group_robots: RobotEndpoints = RobotEndpoints()

    def __post_init__(self) -> None:
        if not self.secret_key:
            object.__setattr__(self, "secret_key", secrets.token_urlsafe(32))
            object.__setattr__(self, "secret_key_generated", True)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
        return load_settings(env, dotenv)


WECOM_KEYS = ("CORP_ID", "AGENT_ID", "SECRET", "TOKEN", "AES_KEY")
DINGTALK_KEYS = ("APP_KEY", "APP_SECRET", "ROBOT_CODE")
KNOWN = {
    "DATABASE_URL", "TIMEZONE", "PUBLIC_URL", "SECRET_KEY",
    *(f"WECOM_{k}" for k in WECOM_KEYS), "WECOM_API_BASE", "WECOM_OAUTH_URL",
    *(f"DINGTALK_{k}" for k in DINGTALK_KEYS), "DINGTALK_CORP_ID", "DINGTALK_MODE", "DINGTALK_API_BASE",
    "DINGTALK_ROBOT_BASE",
    "LOG_LEVEL", "BIND", "DATABASE_PREPARE", "HANDLER_THREADS", "DEDUPE_DAYS",
}


def _read_dotenv(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_settings(env: dict[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """Environment wins over .env; unknown ZHIBU_ variables are refused (a typo would otherwise be silent)."""
    merged = {**_read_dotenv(dotenv), **(dict(os.environ) if env is None else env)}
    values = {k[len(PREFIX):]: v.strip() for k, v in merged.items() if k.startswith(PREFIX)}
    for key in sorted(values):
        if key not in KNOWN:
            raise SettingsError(f"{PREFIX}{key}: 未知的配置项（请检查拼写，见 deploy/.env.example）")

    def get(key: str, default: str = "") -> str:
        return values.get(key, "") or default

    database_url = get("DATABASE_URL", "sqlite:///zhibu.db")
    if not re.match(r"^(sqlite|postgresql(\+psycopg)?)://", database_url):
        raise SettingsError(
            f"{PREFIX}DATABASE_URL: 只支持 sqlite:///文件 或 postgresql+psycopg://用户@主机:端口/库，当前为 {_scheme(database_url)}")
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    timezone = get("TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{PREFIX}TIMEZONE: 未知时区 {timezone!r}（例如 Asia/Shanghai）") from None

    public_url = get("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    parsed = urlparse(public_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(f"{PREFIX}PUBLIC_URL: 须为 http(s):// 开头的完整地址，例如 https://dj.example.cn")

    secret_key = get("SECRET_KEY")
    if secret_key and len(secret_key) < 16:
        raise SettingsError(f"{PREFIX}SECRET_KEY: 太短，{SECRET_HINT}")

    wecom_api_base = get("WECOM_API_BASE", "https://qyapi.weixin.qq.com/cgi-bin/")
    if not wecom_api_base.startswith(("http://", "https://")):
        raise SettingsError(f"{PREFIX}WECOM_API_BASE: 须为 http(s):// 开头并以 /cgi-bin/ 结尾")
    if not wecom_api_base.endswith("/"):
        wecom_api_base += "/"

    wecom_oauth_url = get("WECOM_OAUTH_URL", Settings.wecom_oauth_url)
    if not wecom_oauth_url.startswith(("http://", "https://")):
        raise SettingsError(f"{PREFIX}WECOM_OAUTH_URL: 须为 http(s):// 开头的完整地址")

    robot_base = get("DINGTALK_ROBOT_BASE", "https://oapi.dingtalk.com").rstrip("/")
    if not robot_base.startswith(("http://", "https://")):
        raise SettingsError(f"{PREFIX}DINGTALK_ROBOT_BASE: 须为 http(s):// 开头（钉钉群机器人地址的主机，默认 "
                            "https://oapi.dingtalk.com）")

    log_level = get("LOG_LEVEL", "WARNING").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"{PREFIX}LOG_LEVEL: 只能是 DEBUG、INFO、WARNING 或 ERROR")

    prepare = get("DATABASE_PREPARE", "5").lower()
    if prepare in ("0", "off"):
        database_prepare = None
    elif prepare.isascii() and prepare.isdigit() and int(prepare) <= 1000:
        database_prepare = int(prepare)
    else:
        raise SettingsError(f"{PREFIX}DATABASE_PREPARE: 须为 0 到 1000 的整数，或 off（连接池代理后面请设为 off）")

    handler_threads = _bounded_int(get("HANDLER_THREADS", "8"), "HANDLER_THREADS", 1, 64)
    dedupe_days = _bounded_int(get("DEDUPE_DAYS", "7"), "DEDUPE_DAYS", 2, 365)
    export_dir = get("EXPORT_DIR", "exports")

    return Settings(
        database_url=database_url,
        database_prepare=database_prepare,
        handler_threads=handler_threads,
        dedupe_days=dedupe_days,
        export_dir=export_dir,
        timezone=timezone,
        public_url=public_url,
        secret_key=secret_key,
        wecom=_wecom(values, wecom_api_base),
        dingtalk=_dingtalk(values, robot_base),
        wecom_oauth_url=wecom_oauth_url,
        log_level=log_level,
        group_robots=RobotEndpoints(dingtalk=f"{robot_base}/robot/send", wecom=f"{wecom_api_base}webhook/send"),
    )


def _bounded_int(value: str, key: str, low: int, high: int) -> int:
    if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
        raise SettingsError(f"{PREFIX}{key}: 须为 {low} 到 {high} 的整数，当前为 {value[:20]!r}")
    return int(value)
def require_service_secret(settings: Settings) -> None:
    """The processes that hand members signed links (serve, scheduler, dingtalk-stream) refuse a key somebody else
    could know: unset, short, or one of the published ones. Anyone holding it could forge a projector or file link."""
    key = settings.secret_key
    if settings.secret_key_generated:
        raise SettingsError(f"{PREFIX}SECRET_KEY: 未设置，{SECRET_HINT}")
    if key in KNOWN_SECRET_KEYS:
        raise SettingsError(f"{PREFIX}SECRET_KEY: 还是公开的示例值，{SECRET_HINT}")
    if len(key) < SERVICE_SECRET_MIN:
        raise SettingsError(f"{PREFIX}SECRET_KEY: 太短（{len(key)} 个字符），{SECRET_HINT}")


def ensure_secret_key(dotenv: Path = Path(".env"), env: dict[str, str] | None = None) -> bool:
    """For `zhibu demo`: when neither the environment nor `dotenv` sets ZHIBU_SECRET_KEY, append a random one to
    `dotenv` (created readable by its owner only). True when it wrote one."""
    name = f"{PREFIX}SECRET_KEY"
    if (os.environ if env is None else env).get(name, "").strip() or _read_dotenv(dotenv).get(name, "").strip():
        return False
    line = f"{name}={secrets.token_urlsafe(32)}\n"
    if dotenv.exists():
        text = dotenv.read_text(encoding="utf-8")
        with dotenv.open("a", encoding="utf-8") as f:
            f.write(("" if not text or text.endswith("\n") else "\n") + line)
    else:
        fd = os.open(dotenv, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("# 由 zhibu demo 生成：签名链接用的随机密钥，请勿泄露\n" + line)
    return True


def _scheme(url: str) -> str:
    return (url.split("://", 1)[0] + "://…") if "://" in url else "（格式不对）"


def _wecom(values: dict[str, str], api_base: str) -> WecomSettings | None:
    present = [k for k in WECOM_KEYS if values.get(f"WECOM_{k}")]
    if not present:
        return None
    missing = [k for k in WECOM_KEYS if k not in present]
    if missing:
        raise SettingsError(f"{PREFIX}WECOM_{missing[0]}: 未设置（企业微信通道需要五项配置齐全）")
    agent_id = values["WECOM_AGENT_ID"]
    if not agent_id.isdigit():
        raise SettingsError(f"{PREFIX}WECOM_AGENT_ID: 应为数字（应用的 AgentId）")
    token = values["WECOM_TOKEN"]
    if not re.fullmatch(r"[A-Za-z0-9]{1,32}", token):
        raise SettingsError(f"{PREFIX}WECOM_TOKEN: 应为 1–32 位英文字母或数字")
    aes_key = values["WECOM_AES_KEY"]
    if not valid_wecom_aes_key(aes_key):
        raise SettingsError(f"{PREFIX}WECOM_AES_KEY: 应为 43 位 EncodingAESKey（英文字母和数字）")
    return WecomSettings(values["WECOM_CORP_ID"], int(agent_id), values["WECOM_SECRET"], token, aes_key, api_base)


def valid_wecom_aes_key(aes_key: str) -> bool:
    if not re.fullmatch(r"[A-Za-z0-9]{43}", aes_key):
        return False
    try:
        return len(base64.b64decode(aes_key + "=")) == 32
    except ValueError:
        return False


def _dingtalk(values: dict[str, str], media_base: str = "https://oapi.dingtalk.com") -> DingtalkSettings | None:
    present = [k for k in DINGTALK_KEYS if values.get(f"DINGTALK_{k}")]
    if not present:
        return None
    missing = [k for k in DINGTALK_KEYS if k not in present]
    if missing:
        raise SettingsError(f"{PREFIX}DINGTALK_{missing[0]}: 未设置（钉钉通道需要 APP_KEY、APP_SECRET、ROBOT_CODE）")
    mode = values.get("DINGTALK_MODE", "") or "http"
    if mode not in ("http", "stream"):
        raise SettingsError(f"{PREFIX}DINGTALK_MODE: 只能是 http 或 stream，当前为 {mode!r}")
    api_base = (values.get("DINGTALK_API_BASE", "") or "https://api.dingtalk.com").rstrip("/")
    if not api_base.startswith(("http://", "https://")):
        raise SettingsError(f"{PREFIX}DINGTALK_API_BASE: 须为 http(s):// 开头")
    return DingtalkSettings(values["DINGTALK_APP_KEY"], values["DINGTALK_APP_SECRET"], values["DINGTALK_ROBOT_CODE"],
                            values.get("DINGTALK_CORP_ID", ""), mode, api_base, media_base)
