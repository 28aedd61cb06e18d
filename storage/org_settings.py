"""Per-organisation settings: a validated JSON object on organizations.settings.

Each key has a parser (text → value, raising ValueError with a Chinese reason), a default and a description.
Capabilities add their keys here, so `zhibu org show|set` and the chat's 设置 command know all of them.
"""
from __future__ import annotations

import re
import unicodedata
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
    key: str  # stored under this; also accepted in 设置 (an alias for those who know it)
    label: str  # what 支部设置 shows and 设置 takes
    parse: Callable[[str], Any]
    default: Any
    help: str  # how to write a value, in Chinese
    show: Callable[[Any], str] = str
    aliases: tuple[str, ...] = ()  # other words people use for the setting

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


CLOCK = re.compile(r"(上午|早上|下午|晚上)?(\d{1,2})(?:[:：](\d{2})|[点时](?:(\d{1,2})分?|(半))?)?")


def parse_clock(text: str) -> str:
    """14:30 / 14：30 / 下午2点半 / 9点 → "HH:MM"."""
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    m = CLOCK.fullmatch(t)
    if not m:
        raise ValueError("请写成 14:30 这样的时间（也可写 下午2点半）")
    hour, minute = int(m.group(2)), 30 if m.group(5) else int(m.group(3) or m.group(4) or 0)
    if m.group(1) in ("下午", "晚上") and hour < 12:
        hour += 12
    if hour > 23 or minute > 59:
        raise ValueError(f"“{clip(text.strip())}”不是有效的时间，请写成 14:30 这样")
    return f"{hour:02d}:{minute:02d}"


NO_PLACE = ("无", "不设", "清空", "未定", "待定")


def parse_place(text: str) -> str:
    """A place as written (无 clears it)."""
    t = text.strip()
    if t in NO_PLACE:
        return ""
    if len(t) > 100:
        raise ValueError("地点太长了，请控制在100字以内")
    return t


def show_place(v: Any) -> str:
    return v or "（未设置，创建活动时再定）"


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
    t = text.strip().removeprefix("百分之").rstrip("%％")
    try:
        v = float(t)
    except ValueError:
        raise ValueError("请写成百分数，例如 80%") from None
    v = v / 100 if v > 1 else v
    if not 0 < v <= 1:
        raise ValueError("须在 1% 到 100% 之间")
    return round(v, 4)


class Choice:
    """A setting with a few values: stored as a fixed word, shown and typed in Chinese (the stored word is accepted
    too). `options` maps each stored value to (how it is shown, the other ways people write it)."""

    def __init__(self, options: dict[str, tuple[str, tuple[str, ...]]]) -> None:
        self.options = options
        self.words = {w: value for value, (shown, more) in options.items() for w in (value, shown, *more)}

    def parse(self, text: str) -> str:
        t = re.sub(r"\s+", "", text).lower()
        if t in self.words:
            return self.words[t]
        raise ValueError("只能是 " + " 或 ".join(shown for shown, _ in self.options.values()))

    def show(self, value: Any) -> str:
        return self.options[value][0] if value in self.options else str(value)

    def choices(self) -> str:
        return "、".join(shown for shown, _ in self.options.values())


SHIFT = Choice({"previous": ("提前到前一个工作日", ("提前", "前一个工作日", "往前", "提前一天", "前移")),
                "next": ("顺延到后一个工作日", ("顺延", "后一个工作日", "往后", "延后", "推后", "后移"))})
CHANNEL = Choice({"wecom": ("企业微信", ("企微", "微信", "政务微信")), "dingtalk": ("钉钉", ("钉钉群", "ding"))})
ROUNDING = Choice({"half_up": ("四舍五入到分", ("四舍五入", "四舍五入取整", "四舍五入到分位")),
                   "down": ("舍去分以下", ("舍去", "去尾", "截断", "向下取整", "只舍不入", "舍去取整", "直接舍去"))})


_MINUTES = re.compile(r"(\d+)\s*(?:分钟|分|min|mins|minutes)?")
_HALF_HOUR = {"半小时": 30, "半个小时": 30, "一刻钟": 15, "一小时": 60, "1小时": 60, "一个小时": 60}


def parse_minutes(text: str) -> int:
    t = re.sub(r"\s+", "", text.strip().lower())
    if t in _HALF_HOUR:
        return _HALF_HOUR[t]
    m = _MINUTES.fullmatch(t)
    if not m or not 0 <= int(m.group(1)) <= 240:
        raise ValueError("请写 0 到 240 之间的分钟数，例如 15分钟")
    return int(m.group(1))


def show_minutes(v: Any) -> str:
    return f"{v}分钟"


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
    t = text.strip().removeprefix("¥").removeprefix("￥").removesuffix("元").removesuffix("每月").strip()
    try:
        v = float(t[:-1]) / 10 if t.endswith(("角", "毛")) else float(t)
    except ValueError:
        raise ValueError("请写金额，例如 0.5元 或 5角") from None
    if not 0.2 <= v <= 1:
        raise ValueError("农民党员每月党费在 0.2 元到 1 元之间")
    return v


def parse_alert_months(text: str) -> int:
    t = text.strip().removesuffix("个月").removesuffix("月").strip()
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


def show_yuan(v: Any) -> str:
    return f"{float(v):g}元"


def show_months(v: Any) -> str:
    return f"{v}个月"


SPECS: dict[str, SettingSpec] = {s.key: s for s in (
    SettingSpec("theme_day", "主题党日", parse_theme_day, {"day": 20}, "每月固定日，如 每月20日 或 每月第三个周五",
                show_theme_day, ("主题党日日期", "党日")),
    # the rule's time and place: a 主题党日 made from the rule starts then and there, the notices say them
    SettingSpec("theme_day_time", "主题党日时间", parse_clock, "09:00", "几点开始，如 14:30", str,
                ("主题党日开始时间", "党日时间")),
    SettingSpec("theme_day_place", "主题党日地点", parse_place, "", "如 三楼会议室；写“无”清空", show_place,
                ("党日地点", "主题党日活动地点")),
    SettingSpec("theme_day_shift", "主题党日遇节假日", SHIFT.parse, "previous", SHIFT.choices(), SHIFT.show,
                ("节假日", "遇节假日", "主题党日节假日", "节假日调整", "放假调整")),
    SettingSpec("org_life_window", "组织生活会时间窗", parse_window, "Q4", "第四季度 或 2027-01-10至2027-03-31",
                show_window, ("组织生活会", "组织生活会时间")),
    SettingSpec("participation_threshold", "参与率下限", parse_percent, 0.8, "低于此参与率会被标出，如 80%", percent,
                ("参与率", "到会率下限", "到会率")),
    SettingSpec("late_after_minutes", "迟到界限", parse_minutes, 10, "开始后多少分钟签到算迟到，如 15分钟", show_minutes,
                ("迟到界限（分钟）", "迟到", "迟到时间", "迟到分钟")),
    SettingSpec("default_channel", "默认推送渠道", CHANNEL.parse, "wecom", CHANNEL.choices(), CHANNEL.show,
                ("推送渠道", "默认渠道", "渠道")),
    SettingSpec("group_webhook", "群机器人地址", parse_webhook, "", "钉钉或企业微信群机器人的 Webhook 地址", secret_mask,
                ("群机器人", "机器人地址")),
    SettingSpec("group_webhook_secret", "群机器人加签密钥", parse_secret, "", "以 SEC 开头", secret_mask,
                ("加签密钥", "机器人密钥")),
    SettingSpec("dues_rounding", "党费取整方式", ROUNDING.parse, "half_up", ROUNDING.choices(), ROUNDING.show,
                ("取整方式", "党费取整", "取整")),
    SettingSpec("farmer_dues", "农民党员每月党费", parse_fen_range, 0.2, "0.2 到 1 元，如 0.5元", show_yuan,
                ("农民党员每月党费（元）", "农民党员党费", "农民党费")),
    SettingSpec("dues_alert_months", "党费欠缴提醒月数", parse_alert_months, 3,
                "连续几个月未交时提醒支部（2 到 5）；满 6 个月一律提请支部研究处理", show_months,
                ("欠缴提醒月数", "欠缴提醒", "党费提醒月数")),
    # the 党委's overview (reminders/oversight_rules.py): a 党委's value applies to the branches below it
    SettingSpec("quiet_days", "无活动标黄天数", parse_int_range(7, 180, "天"), 30, "多少天没有组织活动标黄（7 到 180）"),
    SettingSpec("term_warning_months", "换届预警月数", parse_int_range(1, 12, "月"), 6,
                "任期届满前几个月标黄（1 到 12）"),
    SettingSpec("dues_red_months", "党费欠缴标红月数", parse_int_range(3, 12, "月"), 6,
                "连续几个月未交党费标红（3 到 12）"),
)}


def get_setting(org: Organization, key: str) -> Any:
    return (org.settings or {}).get(key, SPECS[key].default)


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _words(spec: SettingSpec) -> tuple[str, ...]:
    return tuple(_norm(w) for w in (spec.key, spec.label, *spec.aliases))


def resolve_key(name: str) -> SettingSpec:
    """The setting a name means: its Chinese label, one of the other words for it, or its stored key."""
    said = name.strip()
    name = _norm(name)
    for spec in SPECS.values():
        if name in _words(spec):
            return spec
    raise ValueError(f"没有“{clip(said)}”这项设置。可设置：" + "、".join(s.label for s in SPECS.values()))


def split_setting(text: str) -> tuple[str, str]:
    """'党费取整方式 四舍五入', '党费取整方式为四舍五入', '迟到界限：15分钟' → (name, value); ValueError otherwise."""
    t = unicodedata.normalize("NFKC", text).strip()
    words = sorted((w for spec in SPECS.values() for w in _words(spec)), key=len, reverse=True)
    squeezed = _norm(t)
    for w in words:
        if squeezed.startswith(w):
            # the value is what follows the name in the text as typed (its spaces kept)
            i, seen = 0, 0
            while seen < len(w) and i < len(t):
                if not t[i].isspace():
                    seen += 1
                i += 1
            value = re.sub(r"^\s*(?:改为|设为|设置为|改成|[为是:=])\s*", "", t[i:]).strip()
            if value:
                return w, value
    parts = t.split(maxsplit=1)
    if len(parts) == 2:
        return parts[0], parts[1]
    raise ValueError("请写成：设置 项目 值，例如“设置 主题党日 每月15日”")


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
    """What 支部设置 shows: each setting by its Chinese label and value (and, for a choice, the other options)."""
    lines = []
    for spec in SPECS.values():
        line = f"· {spec.label}：{spec.show(get_setting(org, spec.key))}"
        choice = next((c for c in (SHIFT, CHANNEL, ROUNDING) if spec.parse == c.parse), None)
        if choice is not None:
            line += f"（可选：{choice.choices()}）"
        lines.append(line)
    return lines
