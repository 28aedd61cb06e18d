"""The meaning of a question (sentence vectors): stored for every entry text, read back as computed, safe to share
between the threads that answer messages, and heard in the chat."""
from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from handlers.knowledge import KnowledgeBase, load_entries
from handlers.knowledge.meaning import QUERY, Meaning, Vectors, engine_runs_here, read, write


@pytest.fixture(scope="module")
def vectors() -> Vectors:
    return Vectors.load()


def test_the_shipped_vectors_cover_every_entry_text(vectors):
    """An entry edited without `zhibu kb embed` would be embedded at every start-up: twenty seconds."""
    assert vectors.missing(load_entries()) == []


def test_the_shipped_vectors_are_what_the_model_computes(vectors):
    entries = load_entries()
    fresh = Vectors(vectors.model, {})
    texts = [entries[0].title, entries[40].phrasings[0], entries[-1].phrasings[-1]]
    stored = np.stack([vectors.stored[(QUERY, t)] for t in texts]).astype(np.float32)
    assert np.abs(fresh.of(QUERY, texts) - stored).max() < 2e-3  # half precision


def test_written_vectors_read_back_and_an_edit_is_missing_until_embedded(vectors, tmp_path):
    entries = load_entries()[:3]
    path = tmp_path / "vectors.npz"
    assert write(vectors, entries, path) == sum(len(e.phrasings) + 2 for e in entries)  # title, phrasings, answer
    again = Vectors(vectors.model, read(path))
    assert again.missing(entries) == []
    edited = [dataclasses.replace(entries[0], phrasings=(*entries[0].phrasings, "新加的一句问法"))]
    assert again.missing(edited) == [(QUERY, "新加的一句问法")]


def test_a_question_in_other_words_is_near_its_entry(vectors):
    """No word of these is in the entry's title or phrasings; the meaning still finds the entry among the nearest."""
    entries = load_entries()
    meaning = Meaning(entries, vectors)
    for question, entry_id in [("党员犯了事组织上一般咋处理", "discipline-kinds"),
                               ("俺们书记逢人就说要找大家唠唠，这一年得唠几回", "heart-talk")]:
        scores = meaning.scores(question)
        nearest = sorted(range(len(entries)), key=lambda i: -scores[i])[:5]
        assert entry_id in [entries[i].id for i in nearest], question


def test_threads_answering_at_once_get_what_one_thread_gets(segmenter):
    kb = KnowledgeBase.load(segmenter)
    questions = ["预备期多长时间", "党费交百分之几", "俺们支部一年得开几回党员大会", "党员犯了事，组织上咋处理",
                 "退休返聘的党费怎么交", "支委会和党员大会谁先开"] * 8
    alone = [[h.entry.id for h in kb.search(q, 3)] for q in questions]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda q: [h.entry.id for h in kb.search(q, 3)], questions))
    assert together == alone


def test_a_member_telling_a_misdeed_in_plain_words_is_offered_the_discipline_entry(say):
    """Words alone offered 政治生日, 退党 and 欠党费; the meaning puts the kinds of discipline among the offers."""
    text = say("demo-dangyuan", "党员犯了事，组织上咋处理")
    assert "纪律处分有哪几种" in text, text


def test_the_offer_and_the_choice_over_wecom(wecom_demo, wecom_client):
    """On WeCom: the plain-words question gets the offers, and the number the member replies gets the entry."""
    from bot.app import create_app

    http = create_app(runtime=wecom_demo).test_client()

    def send(text: str) -> str:
        query, body = wecom_client.encrypt_envelope(wecom_client.text_xml("demo-dangyuan", text))
        response = http.post(f"/wecom/callback?{query}", data=body.encode(), content_type="text/xml")
        assert response.status_code == 200
        return wecom_client.open_reply(response.data).content

    offers = send("党员犯了事，组织上咋处理")
    number = next(line[0] for line in offers.splitlines() if "纪律处分有哪几种" in line)
    answer = send(number)
    assert answer.startswith("【纪律处分有哪几种、由谁决定】") and "警告、严重警告" in answer, answer


def test_where_the_processor_cannot_run_the_model_the_words_answer_alone(segmenter):
    """The x86-64 engine needs AVX2 and FMA; without them it would stop the process at the first question."""
    assert engine_runs_here("x86_64", "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma bmi2\n")
    assert not engine_runs_here("x86_64", "processor\t: 0\nflags\t\t: fpu sse2 sse4_2 avx\n")  # an old server
    assert not engine_runs_here("x86_64", "")  # an emulator that names no flags
    assert engine_runs_here("aarch64", "")  # the arm64 wheel is built for its own processor
    words_alone = KnowledgeBase(load_entries(), segmenter)
    assert words_alone.meaning is None
    assert words_alone.decide("预备期多长时间").hits[0].entry.id == "probation-conversion"
