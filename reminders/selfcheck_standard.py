"""The 规范化 standard file (data/selfcheck_standard.yaml): the items a branch is checked against, their points and
measures, checked before use. The 党委 edits it, so every problem is one Chinese line naming the item and the field,
and all problems are listed at once (`zhibu selfcheck check` prints them).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reminders.selfcheck_rules import MEASURES, Item, Standard

STANDARD_FILE = Path(__file__).with_name("data") / "selfcheck_standard.yaml"
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
TOP_FIELDS = ("title", "source", "items")
ITEM_FIELDS = ("id", "area", "name", "points", "basis")
OPTIONAL = ("measure",)


class StandardError(Exception):
    """The file is not usable; `problems` lists every problem, one Chinese line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _item(raw: Any, where: str, problems: list[str]) -> Item | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}：每一项应是“字段: 值”的形式")
        return None
    if isinstance(raw.get("id"), str):
        where += f"（id: {raw['id']}）"
    before = len(problems)
    for f in ITEM_FIELDS:
        if raw.get(f) in (None, "", []):
            problems.append(f"{where}：缺少字段 {f}" + ("（这一项的分值）" if f == "points" else ""))
    for f in raw:
        if f not in ITEM_FIELDS and f not in OPTIONAL:
            problems.append(f"{where}：不认识的字段 {f}（可用：{'、'.join(ITEM_FIELDS + OPTIONAL)}）")
    if len(problems) > before:
        return None
    for f in ("id", "area", "name", "basis"):
        if _text(raw[f]) is None:
            problems.append(f"{where}：字段 {f} 应是一段文字")
    points = raw["points"]
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        problems.append(f"{where}：字段 points 应是正整数（分值），现在是“{points}”")
    if isinstance(raw["id"], str) and not ID_RE.match(raw["id"]):
        problems.append(f"{where}：字段 id 只能用小写字母、数字和连字符，例如 theme-day")
    measure = raw.get("measure")
    if measure is not None and measure not in MEASURES:
        problems.append(f"{where}：measure “{measure}” 不认识（可用：{'、'.join(MEASURES)}；"
                        f"数据无法反映的项不写 measure，按需人工核查列出）")
    if len(problems) > before:
        return None
    return Item(id=raw["id"], area=_text(raw["area"]), name=_text(raw["name"]), points=points,
                basis=_text(raw["basis"]), measure=measure)


def parse_standard(data: Any, name: str = STANDARD_FILE.name) -> Standard:
    """The standard in `data` (the file's YAML); raises StandardError listing every problem."""
    if not isinstance(data, dict):
        raise StandardError([f"{name}：文件应以“title:”“source:”“items:”三个字段组成"])
    problems: list[str] = []
    for f in TOP_FIELDS:
        if data.get(f) in (None, "", []):
            problems.append(f"{name}：缺少字段 {f}")
    for f in data:
        if f not in TOP_FIELDS:
            problems.append(f"{name}：不认识的字段 {f}（可用：{'、'.join(TOP_FIELDS)}）")
    raw_items = data.get("items")
    if raw_items not in (None, "", []) and not isinstance(raw_items, list):
        problems.append(f"{name}：items 下面应逐项列出（YAML 列表，每项以“- id:”开头）")
        raw_items = []
    items: list[Item] = []
    seen: dict[str, int] = {}  # id → the first item (by its place in the file) that uses it, valid or not
    for i, raw in enumerate(raw_items or [], 1):
        item = _item(raw, f"{name} 第{i}项", problems)
        if item is not None:
            items.append(item)
        rid = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(rid, str):
            if rid in seen:
                problems.append(f"{name} 第{i}项（id: {rid}）：id 重复，第{seen[rid]}项已经用了这个 id")
            seen.setdefault(rid, i)
    if problems:
        raise StandardError(problems)
    return Standard(title=_text(data["title"]) or "", source=_text(data["source"]) or "", items=tuple(items))


def load_standard(path: Path = STANDARD_FILE) -> Standard:
    """The standard in the file at `path`; raises StandardError listing every problem."""
    import yaml  # only when a self-check is first asked

    name = path.name
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError:
        raise StandardError([f"{name}：文件不存在"]) from None
    except UnicodeDecodeError:
        raise StandardError([f"{name}：文件不是 UTF-8 编码，请另存为 UTF-8"]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f"第{mark.line + 1}行" if mark is not None else ""
        raise StandardError([f"{name}：YAML 格式错误{line}（{getattr(err, 'problem', None) or err}），"
                             "请检查缩进和冒号"]) from None
    return parse_standard(data, name)
