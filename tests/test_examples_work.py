"""Every example the bot shows (帮助, from the handlers' `example` fields) and every chat example in the README works
when copied: sent as a demo member who may use it, to a fresh demo, it reaches the handler it illustrates (or, for a
question, a knowledge article) and is neither refused nor misunderstood.

The examples are collected from the registry and the README, not listed here: a handler or README row added later is
checked too. An example that needs something going on (a live sign-in) gets it set up first, as a member would find
it; the example's text is left as it is shown.
"""
from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.channels import console
from bot.demo import PIPELINE_PEOPLE, member_rows
from bot.roles import RoleSet
from handlers import MODULES
from handlers.knowledge import handler as knowledge
from handlers.knowledge.index import KnowledgeBase

README = Path(__file__).resolve().parent.parent / "README.md"
PLAIN = "党员"


def demo_accounts() -> list[tuple[str, frozenset[str]]]:
    """(account, role names) of every demo member in the roster, the key people first."""
    return [(row[2], frozenset(r for r in str(row[8] or "").split("、") if r)) for row in member_rows()]


def account_for(predicate) -> str | None:
    """The demo member with the fewest roles that lets them use a handler (checked by name, as 帮助 does): what any
    member may send is tried as a plain member."""
    for account, roles in sorted(demo_accounts(), key=lambda a: len(a[1])):
        if predicate(RoleSet.of((r, 0) for r in roles)):
            return account
    return None


def account_holding(role: str) -> str | None:
    """The demo account for a README row's 谁: a plain member, a role holder, or a person in the 发展 pipeline."""
    for account, roles in demo_accounts():
        if (role == PLAIN and not roles) or role in roles:
            return account
    return next((account for account, _name, what in PIPELINE_PEOPLE if role in what), None)


def alternatives(example: str) -> list[str]:
    """`请假 主题党日 出差（或“我明天请假”）` shows two things to send: the text before （或, and each quoted one."""
    head, _, tail = example.partition("（或")
    return [head.strip(), *re.findall(r"“(.+?)”", tail)]


def registry_examples() -> list[tuple[str, str, str]]:
    """(handler name, example, account) for every handler 帮助 lists: its example, else its first command."""
    out = []
    for module in MODULES:
        for h in module.HANDLERS:
            if h.summary:
                out += [(h.name, text, account_for(h.allowed)) for text in alternatives(h.example or h.commands[0])]
    out.append((knowledge.FALLBACK.name, knowledge.FALLBACK.example, account_holding(PLAIN)))
    return out


def shown_examples() -> set[str]:
    return {h.example or h.commands[0] for m in MODULES for h in m.HANDLERS if h.summary} | {
        knowledge.FALLBACK.example}


def readme_examples() -> list[tuple[str, str, bool]]:
    """(example, account, is a question) from the chat table (谁 | 发什么 | 得到什么): each `code` in 发什么, sent as
    the first role its 谁 names."""
    text = README.read_text(encoding="utf-8")
    table = text.split("## 在聊天里能做什么", 1)[1].split("\n\n", 2)[1]
    out = []
    for line in table.splitlines()[2:]:
        who, what = (cell.strip() for cell in line.strip("|").split("|")[:2])
        first_role = re.split(r"[、，]", who)[0].removesuffix("等本人")
        for example in re.findall(r"`([^`]+)`", what):
            out.append((example, account_holding(first_role), "提问" in what))
    return out


def _code(example: str) -> str | None:
    """The 4-digit code an example shows, however it is typed (签到 4 8 2 7, full-width digits), if it shows one."""
    digits = re.sub(r"\D", "", example.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    return digits[:4] if len(digits) >= 4 else None


def _give_code(say, reply: str, code: str) -> None:
    from sqlalchemy import update

    from storage.models import Meeting

    shown = re.search(r"签到码[：:]\s*(\d{4})", reply).group(1)
    with say.runtime.sessions.begin() as session:
        session.execute(update(Meeting).where(Meeting.code == shown).values(code=code))


def live_signin(say, example: str) -> None:
    """A 主题党日 sign-in going on in 第一党支部, with the code the example shows."""
    reply = say("demo-shuji", "发起签到 主题党日")
    if _code(example):
        _give_code(say, reply, _code(example))


def coming_theme_day(say, example: str) -> None:
    """A 主题党日 arranged for tomorrow afternoon, with the code the example shows (if any)."""
    tomorrow = say.runtime.services.clock().astimezone(say.runtime.settings.tz).date() + timedelta(days=1)
    reply = say("demo-shuji", f"安排 主题党日 {tomorrow.isoformat()} 14:30 三楼会议室")
    assert "签到码" in reply, reply
    if _code(example):
        _give_code(say, reply, _code(example))


def leave_asked(say, example: str) -> None:
    """张伟 has asked for leave from tomorrow's 主题党日."""
    coming_theme_day(say, "")
    say("demo-dangyuan", "请假 主题党日 出差")


# handlers whose examples act on a meeting: it is there before the example is sent
NEEDS = {
    **{name: live_signin for name in ("checkin_sign", "checkin_close", "attendance_status", "attendance_make_up")},
    "meeting_cancel": coming_theme_day, "leave_refuse": leave_asked,
    "leave": lambda say, example: (coming_theme_day(say, ""), live_signin(say, "")),  # a member's, or 代登记 now
}


# handlers that answer a wrong input with a reply rather than a refusal (a wrong sign-in code is recorded): what
# their success says
SUCCEEDS = {"checkin_sign": "签到成功"}


@pytest.fixture
def full_demo(demo, clock):
    """The demo as `zhibu demo` makes it: this year's dues and a year of meetings for the 党委's overview."""
    from bot.demo import seed_demo_dues, seed_demo_oversight
    from storage.db import transaction

    today = clock().astimezone(demo.settings.tz).date()
    with transaction(demo.sessions) as session:
        seed_demo_dues(session, today)
        seed_demo_oversight(session, today, demo.settings.tz)
    return demo


@pytest.fixture
def heard(full_demo, caplog):
    """send(account, text) -> (reply, handler name, outcome), from the router's request log."""
    caplog.set_level(logging.INFO, logger="zhibu.requests")

    def send(account: str, text: str) -> tuple[str, str | None, str]:
        caplog.clear()
        reply = console.say(full_demo.router, account, text)[0]
        record = json.loads(caplog.records[-1].getMessage())
        return reply, record["handler"], record["outcome"]

    def say(account: str, text: str) -> str:
        return send(account, text)[0]

    say.runtime = full_demo
    send.say = say
    return send


def _prepare(heard, handler: str | None, example: str) -> None:
    setup = NEEDS.get(handler or "")
    if setup is not None:
        setup(heard.say, example)


@pytest.mark.parametrize(("name", "example", "account"), registry_examples(),
                         ids=[f"{n}:{e}" for n, e, _ in registry_examples()])
def test_help_example_works(heard, name, example, account):
    assert account is not None, f"no demo member may use {name}"
    _prepare(heard, name, example)
    reply, handler, outcome = heard(account, example)
    assert (handler, outcome) == (name, "ok"), reply
    assert SUCCEEDS.get(name, "") in reply


@pytest.mark.parametrize(("example", "account", "question"), readme_examples(),
                         ids=[e for e, _, _ in readme_examples()])
def test_readme_example_works(heard, segmenter, example, account, question):
    assert account is not None
    reply, handler, outcome = heard(account, example)
    if handler in NEEDS and (outcome == "refused" or SUCCEEDS.get(handler, "") not in reply):
        # refused (nothing changed) or a wrong code: set up what it needs and send it again
        _prepare(heard, handler, example)
        reply, handler, outcome = heard(account, example)
    if account in {a for a, *_ in PIPELINE_PEOPLE}:
        assert outcome == "guest", reply  # not in the roster: answered as who they are in the pipeline
        return
    assert outcome == "ok", reply
    if handler == knowledge.FALLBACK.name:  # only a question may reach the knowledge base, and it must find the article
        assert question and KnowledgeBase.load(segmenter).decide(example).kind == "answer", reply
    else:
        assert handler is not None and SUCCEEDS.get(handler, "") in reply, reply


def one_per_role_set() -> list[str]:
    """A demo account for each different set of roles (a plain member, a 书记, a 党费管理员…) and the pipeline's."""
    seen: dict[frozenset[str], str] = {}
    for account, roles in demo_accounts():
        seen.setdefault(roles, account)
    return [*seen.values(), *(a for a, *_ in PIPELINE_PEOPLE)]


@pytest.mark.parametrize("account", one_per_role_set())
def test_help_shows_only_examples_that_are_checked(say, segmenter, account):
    """帮助's commands are the registry's (each checked above); the questions it quotes find their article."""
    reply = say(account, "帮助")
    shown = re.findall(r"^· (.+?)：", reply, flags=re.M)
    assert shown or account in {a for a, *_ in PIPELINE_PEOPLE}
    assert set(shown) <= shown_examples()
    kb = KnowledgeBase.load(segmenter)
    for question in re.findall(r"“(.+?)”", reply):
        assert kb.decide(question).kind == "answer", question
