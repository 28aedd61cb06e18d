"""The knowledge-base files: they load, cover every topic of the domain reference, and bad files are named clearly."""
from __future__ import annotations

import re

import pytest

from bot.cli import main
from handlers.knowledge.entries import ENTRIES_DIR, KnowledgeError, load_entries

# every sub-topic id of the domain reference's topic index
SUB_TOPICS = (
    [f"T01.{i}" for i in range(1, 5)] + [f"T02.{i}" for i in range(1, 5)] + [f"T03.{i}" for i in range(1, 5)]
    + [f"T04.{i}" for i in range(1, 6)] + [f"T05.{i}" for i in range(1, 5)] + [f"T06.{i}" for i in range(1, 7)]
    + [f"T07.{i}" for i in range(0, 6)] + [f"T08.{i}" for i in range(1, 4)] + [f"T09.{i}" for i in range(1, 3)]
    + [f"T10.{i}" for i in range(1, 6)]
)
GOOD = """entries:
  - id: sample-one
    title: 样例
    topics: [T01.1]
    grade: A
    phrasings: [问法一, 问法二]
    keywords: [样例]
    answer: 回答。
    basis: 某条例第一条
"""


@pytest.fixture(scope="module")
def entries():
    return load_entries()


def test_the_shipped_files_load_and_cover_every_sub_topic(entries):
    assert len(entries) >= 50
    covered = {t for e in entries for t in e.topics}
    assert [t for t in SUB_TOPICS if t not in covered] == []
    assert len({e.id for e in entries}) == len(entries)


def test_every_entry_has_enough_to_be_found_and_a_basis(entries):
    for e in entries:
        assert len(e.phrasings) >= 2 and e.keywords, e.id
        assert e.basis and e.answer, e.id
        if e.grade == "B":
            assert "以原文为准" in e.basis or "以上级党组织通知为准" in e.basis, e.id
        if e.grade in ("C", "U"):
            assert "本地规定，以上级党组织通知为准" in e.basis, e.id


def test_the_development_procedure_lists_all_25_steps_and_the_2026_revision(entries):
    by_id = {e.id: e for e in entries}
    overview = by_id["dev-overview"].answer
    circled = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳㉑㉒㉓㉔㉕"
    positions = [overview.index(c) for c in circled]
    assert positions == sorted(positions)  # all 25, in order
    assert len(re.findall(r"^[一二三四五]、", overview, re.M)) == 5  # the five stages
    assert "2026" in by_id["dev-2026-changes"].answer and "同意" in by_id["dev-2026-changes"].answer
    assert "2026年修订" in by_id["dev-object"].basis
    election = by_id["election-procedure"].answer
    assert len(re.findall(r"^\d\. ", election, re.M)) == 8


def _write(tmp_path, name: str, text: str):
    (tmp_path / name).write_text(text, "utf-8")
    return tmp_path


def _problems(directory) -> list[str]:
    with pytest.raises(KnowledgeError) as info:
        load_entries(directory)
    return info.value.problems


def test_a_good_file_in_its_own_directory_loads(tmp_path):
    [entry] = load_entries(_write(tmp_path, "a.yaml", GOOD))
    assert entry.id == "sample-one" and entry.source == "a.yaml"
    assert entry.text().startswith("【样例】") and entry.text().endswith("依据：某条例第一条")


def test_a_missing_field_is_named_with_file_entry_and_field(tmp_path):
    problems = _problems(_write(tmp_path, "a.yaml", GOOD.replace("    answer: 回答。\n", "")))
    assert problems == ["a.yaml 第1条（id: sample-one）：缺少字段 answer"]


def test_bad_topics_grades_ids_and_lists_are_each_reported(tmp_path):
    bad = (GOOD.replace("topics: [T01.1]", "topics: [T11, 党费]").replace("id: sample-one", "id: Sample One")
           .replace("phrasings: [问法一, 问法二]", "phrasings: 问法一").replace("grade: A", "grade: C"))
    problems = _problems(_write(tmp_path, "b.yaml", bad))
    text = "\n".join(problems)
    assert "字段 id 只能用小写字母" in text
    assert "“T11”不是有效的主题编号" in text and "“党费”不是有效的主题编号" in text
    assert "字段 phrasings 应是一组非空文字" in text
    assert "可信度为 C，须注明“本地规定，以上级党组织通知为准”" in text
    assert all(p.startswith("b.yaml 第1条") for p in problems)


def test_duplicate_ids_unknown_fields_and_broken_yaml_are_reported(tmp_path):
    _write(tmp_path, "a.yaml", GOOD)
    _write(tmp_path, "b.yaml", GOOD.replace("basis: 某条例第一条", "basis: 某条例第一条\n    note: 备注"))
    _write(tmp_path, "c.yaml", "entries:\n  - id: x\n   title: [\n")
    _write(tmp_path, "d.yaml", GOOD)
    text = "\n".join(_problems(tmp_path))
    assert "d.yaml（id: sample-one）：id 重复，a.yaml 里已经有这个 id" in text
    assert "b.yaml 第1条（id: sample-one）：不认识的字段 note" in text
    assert "c.yaml：YAML 格式错误" in text


def test_an_answer_too_long_for_one_message_is_refused(tmp_path):
    long_answer = GOOD.replace("answer: 回答。", "answer: " + "很长的回答" * 140)
    [problem] = _problems(_write(tmp_path, "a.yaml", long_answer))
    assert problem.startswith("a.yaml 第1条（id: sample-one）：字段 answer 太长")


def test_kb_check_command_passes_on_the_shipped_files_and_fails_clearly(tmp_path, capsys):
    assert main(["kb", "check"]) == 0
    assert "知识库检查通过" in capsys.readouterr().out
    _write(tmp_path, "a.yaml", GOOD.replace("    basis: 某条例第一条\n", ""))
    assert main(["kb", "check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "a.yaml 第1条（id: sample-one）：缺少字段 basis" in err
    assert ENTRIES_DIR.name == "entries"


def test_situations_are_optional_and_checked(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD + "    situations: [返聘]\n", "utf-8")
    assert load_entries(tmp_path)[0].situations == ("返聘",)
    (tmp_path / "a.yaml").write_text(GOOD + "    situations: 返聘\n", "utf-8")
    with pytest.raises(KnowledgeError) as err:
        load_entries(tmp_path)
    assert "字段 situations 应是一组非空文字" in str(err.value)

