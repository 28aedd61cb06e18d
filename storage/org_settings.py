"""Per-organisation settings: a validated JSON object on organizations.settings.

Each key has a parser (text → value, raising ValueError with a Chinese reason), a default and a description.
Capabilities add their keys here, so `zhibu org show|set` and the chat's 设置 command know all of them.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy.orm import Session

from storage.audit import CLI_ACTOR, record_audit
from storage.models import Member, Organization
from storage.quoting import clip

WEEKDAYS = "一二三四五六日"
CN_NUM = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "最后一": -1, "末": -1}


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    show: Callable[[Any], str] = str


def parse_theme_day(text: str) -> dict[str, Any]:
    """每月20日 / 20 → {"day": 20};  每月第三个周五 → {"nth": 3, "weekday": 4} (weekday 0 = Monday)."""
    t = text.strip().replace("每月", "").replace("号", "日")
    if m := re.fullmatch(r"(\d{1,2})日?", t):
        day = int(m.group(1))
        if 1 <= day <= 28:
            return {"day": day}
        raise ValueError("日期须在 1 到 28 日之间（每个月都有的日子）")
    if m := re.fullmatch(r"第?(一|二|三|四|五|最后一|末|\d)个?(?:周|星期|礼拜)([一二三四五六日天])", t):
        nth_text = m.group(1)
        nth = int(nth_text) if nth_text.isdigit() else CN_NUM[nth_text]
        if nth == 0 or nth > 4:
            nth = -1 if nth > 4 else nth
        weekday = WEEKDAYS.index(m.group(2).replace("天", "日"))
        return {"nth": nth, "weekday": weekday}
    raise ValueError("请写成“每月20日”或“每月第三个周五”")


def show_theme_day(rule: dict[str, Any]) -> str:
    if "day" in rule:
        return f"每月{rule['day']}日"
    nth = "最后一" if rule["nth"] == -1 else "一二三四"[rule["nth"] - 1]
    return f"每月第{nth}个周{WEEKDAYS[rule['weekday']]}"


def parse_window(text: str) -> dict[str, str] | str:
    """Q4 (the default: October–December of the year), or an explicit 2027-01-10至2027-03-31."""
    t = text.strip().upper()
    if t in ("Q4", "第四季度", "四季度"):
        return "Q4"
    parts = re.split(r"\s*(?:至|到|~|～|\.\.|—)\s*", text.strip())
    if len(parts) == 2:
        try:
            start, end = (date.fromisoformat(p) for p in parts)
        except ValueError:
            raise ValueError("日期请写成 2027-01-10至2027-03-31") from None
        if end < start:
            raise ValueError("结束日期早于开始日期")
        return {"start": start.isoformat(), "end": end.isoformat()}
    raise ValueError("请写成 Q4 或 2027-01-10至2027-03-31")


def show_window(value: Any) -> str:
    return "每年第四季度" if value == "Q4" else f"{value['start']}至{value['end']}"


def parse_percent(text: str) -> float:
    t = text.strip().rstrip("%％")
    try:
        v = float(t)
    except ValueError:
        raise ValueError("请写成百分数，例如 80%") from None
    v = v / 100 if v > 1 else v
    if not 0 < v <= 1:
        raise ValueError("须在 1% 到 100% 之间")
    return round(v, 4)


def parse_choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.strip() not in options:
            raise ValueError("只能是 " + " 或 ".join(options))
        return text.strip()
    return parse


def parse_minutes(text: str) -> int:
    t = text.strip().removesuffix("分钟")
    if not t.isdigit() or not 0 <= int(t) <= 240:
        raise ValueError("请写 0 到 240 之间的分钟数")
    return int(t)


@dataclass(frozen=True)
class RobotEndpoints:
    """The send URLs a group_webhook may name: DingTalk's custom group robot and WeCom's group robot, on the API hosts
    the settings configure (bot.settings builds them). The scheduler POSTs to the webhook, so it must be one of them."""

    dingtalk: str = "https://oapi.dingtalk.com/robot/send"  # ?access_token=…
    wecom: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"  # ?key=…

    def forms(self) -> tuple[tuple[str, str], ...]:
        return ((self.dingtalk, "access_token"), (self.wecom, "key"))


DEFAULT_PORTS = {"https": 443, "http": 80}
ROBOT_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")


def _origin_and_path(url: str) -> tuple[str, str | None, int | None, str] | None:
    """(scheme, host, port, path), the port filled in for the scheme; None for a URL with a user, a fragment or a
    port that is not a number."""
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or parts.fragment:
        return None
    return parts.scheme, parts.hostname, port, parts.path


def parse_webhook(text: str, endpoints: RobotEndpoints = RobotEndpoints()) -> str:
    """Exactly a group robot's send URL: same scheme, host, port and path as one of `endpoints`, and its token as the
    only query parameter. Compared as parsed parts, so a look-alike host (oapi.dingtalk.com.example) or an address
    inside the network (169.254.169.254) is refused."""
    raw = text.strip()
    if raw.isascii() and raw.isprintable() and " " not in raw and (target := _origin_and_path(raw)) is not None:
        query = parse_qsl(urlsplit(raw).query, keep_blank_values=True)
        for base, key in endpoints.forms():
            if (target == _origin_and_path(base) and len(query) == 1 and query[0][0] == key
                    and ROBOT_TOKEN.fullmatch(query[0][1])):
                return raw
    raise ValueError(f"只能填写钉钉群机器人地址 {endpoints.dingtalk}?access_token=… "
                     f"或企业微信群机器人地址 {endpoints.wecom}?key=…（在群设置的机器人详情里复制）")


def parse_secret(text: str) -> str:
    t = text.strip()
    if not re.fullmatch(r"SEC[0-9a-f]{20,}", t):
        raise ValueError("加签密钥以 SEC 开头，后面是一串小写十六进制字符")
    return t


def parse_fen_range(text: str) -> float:
    try:
        v = float(text.strip().removeprefix("¥").removesuffix("元"))
    except ValueError:
        raise ValueError("请写金额，例如 0.5") from None
    if not 0.2 <= v <= 1:
        raise ValueError("农民党员每月党费在 0.2 元到 1 元之间")
    return v


def parse_alert_months(text: str) -> int:
    t = text.strip().removesuffix("个月").removesuffix("月")
    if not t.isdigit() or not 2 <= int(t) <= 5:
        raise ValueError("请写 2 到 5 之间的月数")
    return int(t)


def parse_int_range(low: int, high: int, unit: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        t = text.strip().removesuffix(unit).removesuffix("个")
        if not t.isdigit() or not low <= int(t) <= high:
            raise ValueError(f"请写 {low} 到 {high} 之间的{unit}数")
        return int(t)
    return parse


def percent(v: float) -> str:
    return f"{v * 100:g}%"


def secret_mask(v: Any) -> str:
    return "（已设置）" if v else "（未设置）"


SPECS: dict[str, SettingSpec] = {s.key: s for s in (
    SettingSpec("theme_day", "主题党日", parse_theme_day, {"day": 20}, "每月固定日，如 每月20日 或 每月第三个周五",
                show_theme_day),
    SettingSpec("theme_day_shift", "主题党日遇节假日", parse_choice("previous", "next"), "previous",
                "previous 提前到前一个工作日，next 顺延到后一个工作日"),
    SettingSpec("org_life_window", "组织生活会时间窗", parse_window, "Q4", "Q4 或 2027-01-10至2027-03-31",
                show_window),
    SettingSpec("participation_threshold", "参与率下限", parse_percent, 0.8, "低于此参与率会被标出，如 80%", percent),
    SettingSpec("late_after_minutes", "迟到界限（分钟）", parse_minutes, 10, "开始后多少分钟签到算迟到"),
    SettingSpec("default_channel", "默认推送渠道", parse_choice("wecom", "dingtalk"), "wecom", "wecom 或 dingtalk"),
    SettingSpec("group_webhook", "群机器人地址", parse_webhook, "", "钉钉或企业微信群机器人的 Webhook 地址",
                secret_mask),
    SettingSpec("group_webhook_secret", "群机器人加签密钥", parse_secret, "", "以 SEC 开头", secret_mask),
    SettingSpec("dues_rounding", "党费取整方式", parse_choice("half_up", "down"), "half_up",
                "half_up 四舍五入到分，down 舍去分以下"),
    SettingSpec("farmer_dues", "农民党员每月党费（元）", parse_fen_range, 0.2, "0.2 到 1 元"),
    SettingSpec("dues_alert_months", "党费欠缴提醒月数", parse_alert_months, 3,
                "连续几个月未交时提醒支部（2 到 5）；满 6 个月一律提请支部研究处理"),
    # the 党委's overview (reminders/oversight_rules.py): a 党委's value applies to the branches below it
    SettingSpec("quiet_days", "无活动标黄天数", parse_int_range(7, 180, "天"), 30, "多少天没有组织活动标黄（7 到 180）"),
    SettingSpec("term_warning_months", "换届预警月数", parse_int_range(1, 12, "月"), 6,
                "任期届满前几个月标黄（1 到 12）"),
    SettingSpec("dues_red_months", "党费欠缴标红月数", parse_int_range(3, 12, "月"), 6,
                "连续几个月未交党费标红（3 到 12）"),
)}


def get_setting(org: Organization, key: str) -> Any:
    return (org.settings or {}).get(key, SPECS[key].default)


ALIASES = {"组织生活会": "org_life_window"}  # the words people use in 设置 for a key whose label says more


def resolve_key(name: str) -> SettingSpec:
    name = ALIASES.get(name.strip(), name.strip())
    for spec in SPECS.values():
        if name in (spec.key, spec.label):
            return spec
    raise ValueError(f"没有“{clip(name)}”这项设置。可设置：" + "、".join(f"{s.key}（{s.label}）" for s in SPECS.values()))


def set_setting(session: Session, org: Organization, key: str, raw: str, actor: Member | str = CLI_ACTOR,
                robots: RobotEndpoints = RobotEndpoints()) -> Any:
    """Parse, store and audit one setting; raises ValueError with the reason and changes nothing. `robots` are the
    group-robot send URLs group_webhook may name (the settings' API hosts)."""
    spec = resolve_key(key)
    try:
        value = parse_webhook(raw, robots) if spec.parse is parse_webhook else spec.parse(raw)
    except ValueError as err:
        raise ValueError(f"{spec.label}：{err}") from None
    old = (org.settings or {}).get(spec.key)
    org.settings = {**(org.settings or {}), spec.key: value}  # a new dict, so the JSON column sees the change
    shown_old = spec.show(old) if old is not None else "（默认）"
    record_audit(session, "org.set", org.name, actor=actor,
                 detail={"key": spec.key, "old": shown_old, "new": spec.show(value)})
    return value


def describe(org: Organization) -> list[str]:
    return [f"{s.key}（{s.label}）= {s.show(get_setting(org, s.key))}" for s in SPECS.values()]
