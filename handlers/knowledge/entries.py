"""The knowledge-base files: YAML under entries/, one list of entries per file, checked before use.

Secretaries edit these files, so every problem is reported in Chinese with the file, the entry and the field, and
all problems are listed at once (not only the first).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ENTRIES_DIR = Path(__file__).with_name("entries")
TOPIC_RE = re.compile(r"^T(0[1-9]|10)(\.\d)?$")
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
GRADES = ("A", "B", "C", "U")
B_MARK = "以原文为准"
LOCAL_MARK = "以上级党组织通知为准"
MAX_REPLY_BYTES = 2048  # a WeCom text message; anything longer is cut off on the member's phone
FIELDS = ("id", "title", "topics", "grade", "phrasings", "keywords", "answer", "basis")
OPTIONAL = ("related", "situations")


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    topics: tuple[str, ...]
    grade: str  # the weakest confidence grade of the rules in the answer
    phrasings: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str
    basis: str
    related: tuple[str, ...] = ()
    # a member's circumstances this entry is written for (返聘, 停薪留职): a 党费 question naming one is answered here,
    # not with the general rates
    situations: tuple[str, ...] = ()
    source: str = ""  # the file it came from

    def text(self) -> str:
        """The reply: the answer, then its basis."""
        return f"【{self.title}】\n{self.answer.strip()}\n依据：{self.basis.strip()}"


class KnowledgeError(Exception):
    """The files are not usable; `problems` lists every problem found, one Chinese line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _strings(value, file: str, where: str, field: str, problems: list[str], min_items: int = 1) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{file}{where}：字段 {field} 应是一组非空文字（YAML 列表）")
        return ()
    if len(value) < min_items:
        problems.append(f"{file}{where}：字段 {field} 至少要写 {min_items} 条")
    return tuple(v.strip() for v in value)


def _check_entry(raw, file: str, index: int, problems: list[str]) -> Entry | None:
    where = f" 第{index}条"
    if not isinstance(raw, dict):
        problems.append(f"{file}{where}：每一条应是“字段: 值”的形式")
        return None
    if isinstance(raw.get("id"), str):
        where += f"（id: {raw['id']}）"
    before = len(problems)
    for field in FIELDS:
        if field not in raw or raw[field] in (None, "", []):
            problems.append(f"{file}{where}：缺少字段 {field}")
    for field in raw:
        if field not in FIELDS and field not in OPTIONAL:
            problems.append(f"{file}{where}：不认识的字段 {field}（可用：{'、'.join(FIELDS + OPTIONAL)}）")
    if len(problems) > before:
        return None
    for field in ("id", "title", "grade", "answer", "basis"):
        if not isinstance(raw[field], str):
            problems.append(f"{file}{where}：字段 {field} 应是一段文字")
    if len(problems) > before:
        return None
    if not ID_RE.match(raw["id"]):
        problems.append(f"{file}{where}：字段 id 只能用小写字母、数字和连字符，例如 dues-rates")
    topics = _strings(raw["topics"], file, where, "topics", problems)
    for t in topics:
        if not TOPIC_RE.match(t):
            problems.append(f"{file}{where}：字段 topics 中的“{t}”不是有效的主题编号（T01–T10，可带小节，如 T06.2）")
    grade = raw["grade"].strip().upper()
    basis = raw["basis"].strip()
    if grade not in GRADES:
        problems.append(f"{file}{where}：字段 grade 只能是 A、B、C 或 U")
    elif grade == "B" and B_MARK not in basis and LOCAL_MARK not in basis:
        problems.append(f"{file}{where}：字段 basis 的可信度为 B，须注明“（{B_MARK}）”")
    elif grade in ("C", "U") and LOCAL_MARK not in basis:
        problems.append(f"{file}{where}：字段 basis 的可信度为 {grade}，须注明“本地规定，{LOCAL_MARK}”")
    phrasings = _strings(raw["phrasings"], file, where, "phrasings", problems, min_items=2)
    keywords = _strings(raw["keywords"], file, where, "keywords", problems)
    related = _strings(raw["related"], file, where, "related", problems) if "related" in raw else ()
    situations = _strings(raw["situations"], file, where, "situations", problems) if "situations" in raw else ()
    if len(problems) > before:
        return None
    entry = Entry(id=raw["id"], title=raw["title"].strip(), topics=topics, grade=grade, phrasings=phrasings,
                  keywords=keywords, answer=raw["answer"].strip(), basis=basis, related=related, situations=situations,
                  source=file)
    size = len(entry.text().encode("utf-8"))
    if size > MAX_REPLY_BYTES - 200:  # room for the "相关：" line
        problems.append(f"{file}{where}：字段 answer 太长（连同标题和依据共 {size} 字节，企业微信一条消息最多 "
                        f"{MAX_REPLY_BYTES} 字节），请精简或拆成两条")
        return None
    return entry


def load_entries(directory: Path = ENTRIES_DIR) -> list[Entry]:
    """Every entry of every *.yaml file, in file order; raises KnowledgeError listing all problems."""
    import yaml  # only when the knowledge base is first asked

    problems: list[str] = []
    entries: list[Entry] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise KnowledgeError([f"{directory.name}/ 下没有知识库文件（*.yaml）"])
    for path in files:
        name = path.name
        try:
            # libyaml's loader when the wheel has it: the same safe loading, a tenth of the time
            data = yaml.load(path.read_text("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except UnicodeDecodeError:
            problems.append(f"{name}：文件不是 UTF-8 编码，请另存为 UTF-8")
            continue
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = f"第{mark.line + 1}行" if mark is not None else ""
            problems.append(f"{name}：YAML 格式错误{line}（{getattr(err, 'problem', None) or err}），请检查缩进和冒号")
            continue
        items = data.get("entries") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items:
            problems.append(f"{name}：文件应以“entries:”开头，下面列出至少一条")
            continue
        for i, raw in enumerate(items, 1):
            entry = _check_entry(raw, name, i, problems)
            if entry is not None:
                entries.append(entry)
    seen: dict[str, str] = {}
    for e in entries:
        if e.id in seen:
            problems.append(f"{e.source}（id: {e.id}）：id 重复，{seen[e.id]} 里已经有这个 id")
        seen.setdefault(e.id, e.source)
    for e in entries:
        for r in e.related:
            if r not in seen:
                problems.append(f"{e.source}（id: {e.id}）：字段 related 中的“{r}”不存在")
    if problems:
        raise KnowledgeError(problems)
    return entries
