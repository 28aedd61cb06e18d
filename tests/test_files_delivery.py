"""Files reach the person who asked, on every channel (bot.files).

导出台账, 导出党费 and 生成换届提醒函 sent through the WeCom callback and the DingTalk callback: the fake platform
receives the upload and the file message, and the test opens the bytes it received. With the upload failing the asker
gets a signed link instead, and the link (Flask test client) returns the same file; links that are forged, expired,
for another purpose or of the wrong shape answer 403/410 in Chinese. The console saves under ZHIBU_EXPORT_DIR.
"""
from __future__ import annotations

import io
import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

from bot.app import create_app
from bot.channels import console
from bot.messages import Reply
from bot.signing import make_token
from storage.db import transaction
from tests.fakes.dingtalk_client import SignedClient
from tests.signin_helpers import code_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LINK = re.compile(r"https?://\S+/files/\S+")


def prepare(rt, clock) -> None:
    """This month's sign-in (for 导出台账) and this year's dues (for 导出党费) in the runtime's copy of the demo."""
    from bot.demo import seed_demo_dues

    with transaction(rt.sessions) as session:
        seed_demo_dues(session, clock().astimezone(rt.settings.tz).date())
    opened = rt.router.handle(console.incoming("demo-shuji", "发起签到 主题党日")).text
    signed = rt.router.handle(console.incoming("demo-dangyuan", f"签到 {code_of(opened)}")).text
    assert "签到成功" in signed


def wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    return predicate()


def check_ledger(data: bytes) -> None:
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames[0] == "党员出勤汇总" and len(wb.sheetnames) == 2
    cells = [c for row in wb["党员出勤汇总"].iter_rows(values_only=True) for c in row if c]
    assert "张伟" in cells


def check_dues(data: bytes) -> None:
    ws = load_workbook(io.BytesIO(data))["第一党支部"]
    assert ws["A1"].value == "第一党支部2026年党费收缴登记簿"
    names = [ws.cell(row=r, column=2).value for r in range(1, ws.max_row + 1)]
    assert "张伟" in names and "合计" in names


def check_letter(data: bytes) -> None:
    doc = Document(io.BytesIO(data))
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == "关于第一党支部委员会任期届满按期换届的提醒函"
    assert any("2027年6月15日" in t for t in texts)
    section = doc.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    assert [round(m.mm) for m in (section.top_margin, section.bottom_margin, section.left_margin,
                                  section.right_margin)] == [37, 35, 28, 26]
    fonts = doc.styles["Normal"].element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia")) == "仿宋"


EXPORTS = [  # (who asks, what they send, the file's name, what checks its content)
    ("demo-shuji", "导出台账 2026-11", "第一党支部出勤台账2026-11.xlsx", check_ledger),
    ("demo-shuji", "导出党费 2026", "第一党支部2026年党费收缴登记簿.xlsx", check_dues),
    ("demo-shuji", "生成换届提醒函", "第一党支部换届提醒函.docx", check_letter),
]


def same_content(a: bytes, b: bytes, name: str) -> None:
    """Two builds of one file: the same cells / paragraphs (the package's timestamps may differ)."""
    if name.endswith(".docx"):
        assert [p.text for p in Document(io.BytesIO(a)).paragraphs] == \
               [p.text for p in Document(io.BytesIO(b)).paragraphs]
        return
    wa, wb = load_workbook(io.BytesIO(a)), load_workbook(io.BytesIO(b))
    assert wa.sheetnames == wb.sheetnames
    for sheet in wa.sheetnames:
        assert list(wa[sheet].iter_rows(values_only=True)) == list(wb[sheet].iter_rows(values_only=True))


def fetch(app, url: str):
    return app.test_client().get(urlsplit(url).path)


# WeCom --------------------------------------------------------------------------------------------------------------
@pytest.fixture
def wecom(wecom_demo, clock, wecom_client, fake_wecom):
    prepare(wecom_demo, clock)
    app = create_app(runtime=wecom_demo)
    http = app.test_client()

    def say(user: str, text: str) -> str:
        query, body = wecom_client.encrypt_envelope(wecom_client.text_xml(user, text))
        response = http.post(f"/wecom/callback?{query}", data=body.encode(), content_type="text/xml")
        assert response.status_code == 200
        answer = wecom_client.open_reply(response.data).content
        response.close()  # as a server does once the body is sent: the file follows then
        return answer
    return app, say


@pytest.mark.parametrize(("user", "text", "filename", "check"), EXPORTS, ids=["ledger", "dues", "letter"])
def test_wecom_sends_the_file_to_the_asker(wecom, fake_wecom, user, text, filename, check):
    app, say = wecom
    answer = say(user, text)
    assert "稍后单独发给你" in answer and filename in answer
    [(name, data)] = wait_for(lambda: fake_wecom.files_for(user))
    assert name == filename
    check(data)
    [upload] = fake_wecom.calls("media/upload")
    assert upload.params["type"] == "file"
    lines = wait_for(lambda: [d.content for d in fake_wecom.inbox[user] if d.msgtype == "text"])
    assert lines == [f"上面是你要的{filename}，请查收。"]  # one line saying what it is


@pytest.mark.parametrize(("user", "text", "filename", "check"), EXPORTS, ids=["ledger", "dues", "letter"])
def test_wecom_upload_failing_gives_a_link_to_the_same_file(wecom, fake_wecom, user, text, filename, check):
    app, say = wecom
    fake_wecom.fail_next("media/upload", 40006)
    say(user, text)
    texts = wait_for(lambda: [d.content for d in fake_wecom.inbox[user] if LINK.search(d.content)])
    assert fake_wecom.files_for(user) == []
    [message] = texts
    assert filename in message and "24 小时" in message
    response = fetch(app, LINK.search(message).group(0))
    assert response.status_code == 200
    check(response.data)
    assert filename in response.headers["Content-Disposition"].encode("latin-1").decode("utf-8") or \
        "filename*=UTF-8''" in response.headers["Content-Disposition"]
    # the link rebuilds the same file the platform would have received
    fake_wecom_again = say(user, text)
    assert "稍后单独发给你" in fake_wecom_again
    [(_, sent)] = wait_for(lambda: fake_wecom.files_for(user))
    same_content(sent, response.data, filename)


def test_wecom_file_over_the_size_limit_gives_a_link(wecom, fake_wecom, monkeypatch):
    import bot.channels.wecom.push as wecom_push

    monkeypatch.setattr(wecom_push, "FILE_LIMIT", 100)  # the ledger is bigger than 100 bytes
    _, say = wecom
    say("demo-shuji", "导出台账 2026-11")
    assert wait_for(lambda: [d for d in fake_wecom.inbox["demo-shuji"] if LINK.search(d.content)])
    assert fake_wecom.calls("media/upload") == [] and fake_wecom.files_for("demo-shuji") == []


def test_wecom_repeat_of_the_message_does_not_send_the_file_twice(wecom, wecom_client, fake_wecom):
    app, _ = wecom
    http = app.test_client()
    xml = wecom_client.text_xml("demo-shuji", "导出台账 2026-11", msg_id=777001)
    for _ in range(2):  # WeCom re-sends a message whose answer it did not get
        query, body = wecom_client.encrypt_envelope(xml)
        response = http.post(f"/wecom/callback?{query}", data=body.encode(), content_type="text/xml")
        assert response.status_code == 200
        response.close()
    assert wait_for(lambda: fake_wecom.files_for("demo-shuji"))
    time.sleep(0.5)
    assert len(fake_wecom.files_for("demo-shuji")) == 1 and len(fake_wecom.calls("media/upload")) == 1


def test_wecom_no_data_and_no_role_send_nothing(wecom, fake_wecom):
    _, say = wecom
    assert "没有会议签到记录" in say("demo-shuji", "导出台账 2026-09")
    assert "只有" in say("demo-dangyuan", "导出台账 2026-11")
    assert "只有" in say("demo-dangyuan", "生成换届提醒函")
    assert "只有" in say("demo-dangyuan", "导出党费 2026")
    time.sleep(0.3)
    assert fake_wecom.calls("media/upload") == [] and fake_wecom.files_for("demo-shuji") == []


# DingTalk (HTTP mode) -----------------------------------------------------------------------------------------------
@pytest.fixture
def dingtalk(dingtalk_rt, clock):
    prepare(dingtalk_rt, clock)
    app = create_app(runtime=dingtalk_rt)
    http = app.test_client()
    signer = SignedClient("ding-app-secret", clock)

    def say(user: str, text: str, group: bool = False) -> dict:
        response = http.post("/dingtalk/callback", json=signer.message(user, text, group=group),
                             headers=signer.headers())
        assert response.status_code == 200
        body = response.get_json()
        response.close()  # the file follows the answer
        return body
    return app, say


@pytest.mark.parametrize(("user", "text", "filename", "check"), EXPORTS, ids=["ledger", "dues", "letter"])
def test_dingtalk_sends_the_file_to_the_asker(dingtalk, fake_dingtalk, user, text, filename, check):
    _, say = dingtalk
    body = say(user, text)
    assert "稍后单独发给你" in body["text"]["content"]
    [(name, data)] = wait_for(lambda: fake_dingtalk.files_for(user))
    assert name == filename
    check(data)
    [param] = [p for u, key, p in fake_dingtalk.oto if key == "sampleFile"]
    assert param["fileType"] == filename.rsplit(".", 1)[1]


def test_dingtalk_file_asked_in_a_group_goes_to_the_asker_alone(dingtalk, fake_dingtalk):
    _, say = dingtalk
    body = say("demo-shuji", "导出台账 2026-11", group=True)
    assert "私聊" in body["text"]["content"] and "台账" not in body["text"]["content"]
    [(name, _)] = wait_for(lambda: fake_dingtalk.files_for("demo-shuji"))
    assert name == "第一党支部出勤台账2026-11.xlsx" and fake_dingtalk.group_api == []


@pytest.mark.parametrize(("user", "text", "filename", "check"), EXPORTS, ids=["ledger", "dues", "letter"])
def test_dingtalk_upload_failing_gives_a_link_to_the_same_file(dingtalk, fake_dingtalk, user, text, filename,
                                                              check):
    app, say = dingtalk
    fake_dingtalk.fail_uploads = 1
    say(user, text)
    texts = wait_for(lambda: [p["content"] for u, key, p in fake_dingtalk.oto
                              if u == user and key == "sampleText" and LINK.search(p["content"])])
    assert fake_dingtalk.files_for(user) == []
    response = fetch(app, LINK.search(texts[0]).group(0))
    assert response.status_code == 200
    check(response.data)
    say(user, text)
    [(_, sent)] = wait_for(lambda: fake_dingtalk.files_for(user))
    same_content(sent, response.data, filename)


def test_dingtalk_no_data_sends_nothing(dingtalk, fake_dingtalk):
    _, say = dingtalk
    assert "没有登记簿可导出" in say("demo-shuji", "导出党费 2020")["text"]["content"]
    time.sleep(0.3)
    assert fake_dingtalk.uploads == {}


# links --------------------------------------------------------------------------------------------------------------
def test_bad_links_answer_in_chinese_never_500(wecom, wecom_demo, clock, fake_wecom):
    app, say = wecom
    fake_wecom.fail_next("media/upload", 40006)
    say("demo-shuji", "导出台账 2026-11")
    [message] = wait_for(lambda: [d.content for d in fake_wecom.inbox["demo-shuji"] if LINK.search(d.content)])
    url = LINK.search(message).group(0)
    path = urlsplit(url).path
    purpose, token = path.split("/")[2:4]
    client = app.test_client()
    assert client.get(path).status_code == 200

    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    other_purpose = f"/files/dues/{token}"
    secret = wecom_demo.settings.secret_key
    later = clock() + timedelta(days=1)
    wrong_shapes = [{"org": "1", "year": 2026, "month": 11}, {"org": 1, "year": True, "month": 11, "by": 1},
                    {"org": 1, "year": 2026, "month": 11, "at": "yesterday", "tz": "Asia/Shanghai", "by": 1},
                    {"org": 1, "year": 2026, "month": 11, "at": clock().isoformat(), "tz": "Mars/Base", "by": 1},
                    {"org": 1, "year": 2026, "month": 11, "at": clock().isoformat(), "tz": "Asia/Shanghai",
                     "by": "me"}]
    cases = [(f"/files/{purpose}/{forged}", 403), (other_purpose, 403), (f"/files/{purpose}/garbage", 403)]
    cases += [(f"/files/{purpose}/{make_token(secret, purpose, data, later)}", 403) for data in wrong_shapes]
    for target, status in cases:
        response = client.get(target)
        assert response.status_code == status, (target, response.data)
        assert "链接" in response.get_data(as_text=True)

    clock.set(clock() + timedelta(hours=24, seconds=1))  # past the 24 hours
    response = client.get(path)
    assert response.status_code == 410 and "过期" in response.get_data(as_text=True)


def test_a_link_works_only_while_its_member_is_on_the_roster(wecom, wecom_demo, fake_wecom):
    from sqlalchemy import update

    from storage.models import Member

    app, say = wecom
    fake_wecom.fail_next("media/upload", 40006)
    say("demo-shuji", "生成换届提醒函")
    [message] = wait_for(lambda: [d.content for d in fake_wecom.inbox["demo-shuji"] if LINK.search(d.content)])
    with transaction(wecom_demo.sessions) as session:
        session.execute(update(Member).where(Member.wecom_userid == "demo-shuji").values(status="transferred"))
    response = fetch(app, LINK.search(message).group(0))
    assert response.status_code == 403 and "不能再下载" in response.get_data(as_text=True)


# the letter's roles, and the console ----------------------------------------------------------------------------------
def test_letter_for_which_branch(demo):
    def ask(user: str, text: str):
        return demo.router.handle(console.incoming(user, text))
    assert ask("demo-zuzhi", "生成换届提醒函").file.params["org"] == ask("demo-shuji", "生成换届提醒函").file.params["org"]
    assert "不能为第二党支部生成" in ask("demo-shuji", "生成换届提醒函 第二党支部").text
    assert "请写明为哪个支部生成" in ask("demo-dangwei", "生成换届提醒函").text
    upper = ask("demo-dangwei", "生成换届提醒函 第一党支部")
    assert upper.file is not None and upper.file.filename == "第一党支部换届提醒函.docx"
    assert "没有名为" in ask("demo-dangwei", "生成换届提醒函 第九党支部").text
    assert "只有" in ask("demo-dangyuan", "生成换届提醒函").text


def test_console_saves_without_overwriting(demo, clock, tmp_path):
    from dataclasses import replace

    demo.services.settings = replace(demo.settings, export_dir=str(tmp_path / "out"))
    demo.router.services.settings = demo.services.settings
    prepare(demo, clock)
    paths = []
    for _ in range(2):
        text, code = console.say(demo.router, "demo-shuji", "导出台账 2026-11")
        assert code == 0
        paths.append(text.splitlines()[-1])
    assert paths[0] != paths[1]
    assert paths[0].endswith("第一党支部出勤台账2026-11.xlsx") and paths[1].endswith("第一党支部出勤台账2026-11 (2).xlsx")
    for p in paths:
        check_ledger(open(p, "rb").read())
    letter, _ = console.say(demo.router, "demo-shuji", "生成换届提醒函")
    check_letter(open(letter.splitlines()[-1], "rb").read())


def test_wecom_late_reply_still_brings_its_file(wecom, wecom_demo, wecom_client, fake_wecom):
    """A handler that outlives WeCom's budget: the empty answer first, then the pushed text, then the file."""
    from bot.core import Handler
    from reminders.letter import LETTER_PURPOSE

    app, _ = wecom
    app.extensions["zhibu.wecom"].handler_timeout = 0.2

    def slow_letter(incoming, ctx):
        time.sleep(0.6)
        org = ctx.member.organization
        return Reply(text="换届提醒函马上发给你。", private=True,
                     file=ctx.file(LETTER_PURPOSE, {"org": org.id, "on": ctx.today.isoformat()}, "第一党支部换届提醒函.docx"))
    wecom_demo.router.register(Handler(name="slow_letter", func=slow_letter, commands=("慢提醒函",)))
    query, body = wecom_client.encrypt_envelope(wecom_client.text_xml("demo-shuji", "慢提醒函"))
    response = app.test_client().post(f"/wecom/callback?{query}", data=body.encode(), content_type="text/xml")
    assert response.status_code == 200 and response.data == b""
    [(name, data)] = wait_for(lambda: fake_wecom.files_for("demo-shuji"))
    check_letter(data)
    texts = [d.content for d in fake_wecom.inbox["demo-shuji"] if d.msgtype == "text"]
    assert "换届提醒函马上发给你。" in texts[0]
