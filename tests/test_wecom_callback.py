"""The WeCom callback end to end: Flask's test client and a real server on loopback, driven by the encrypting client."""
from __future__ import annotations

import io
import threading
import time

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from bot.app import create_app
from bot.channels.wecom.text import CUT_NOTE
from bot.core import Handler
from bot.messages import Reply
from storage.models import AuditLog, ProcessedMessage
from tests.conftest import WECOM_AES_KEY, WECOM_CORP_ID, WECOM_TOKEN
from tests.fakes.wecom_client import WecomClient, cdata

URL = "/wecom/callback"


@pytest.fixture
def app(wecom_demo):
    return create_app(runtime=wecom_demo)


@pytest.fixture
def http(app):
    return app.test_client()


def post(http, client: WecomClient, plaintext: str, **kw):
    query, body = client.encrypt_envelope(plaintext, **kw)
    return http.post(f"{URL}?{query}", data=body.encode(), content_type="text/xml")


def count(rt, model) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def wait_for(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def add_handler(rt, name: str, command: str, func) -> None:
    rt.router.register(Handler(name=name, func=func, commands=(command,)))


def audited(incoming, ctx) -> Reply:
    ctx.audit("test_effect", incoming.message_id)
    return Reply(text="已记录")


# --- round trips ---------------------------------------------------------------------------------------------------
def test_help_round_trip_through_flask(http, wecom_client):
    res = post(http, wecom_client, wecom_client.text_xml("demo-dangyuan", "帮助"))
    assert res.status_code == 200
    reply = wecom_client.open_reply(res.data)
    assert reply.receive_id == WECOM_CORP_ID
    assert reply.fields["ToUserName"] == "demo-dangyuan" and reply.fields["FromUserName"] == WECOM_CORP_ID
    assert reply.fields["MsgType"] == "text"
    assert "张伟同志" in reply.content and "我的信息" in reply.content


def test_round_trip_through_a_real_server_on_loopback(app, wecom_client, wecom_demo):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}{URL}"
        echo = requests.get(f"{url}?{wecom_client.verify_query('8245021737551912345')}", timeout=5)
        assert echo.status_code == 200 and echo.text == "8245021737551912345"
        res = wecom_client.send_text(url, "demo-yubei", "我的信息")
        assert res.status_code == 200
        reply = wecom_client.open_reply(res.content)
        assert "陈晨" in reply.content and "预备党员" in reply.content
        # a member of the other branch, over the same keep-alive session
        with requests.Session() as s:
            res = wecom_client.send_text(url, "demo-shuji2", "帮助", session=s)
            assert "刘洋" in wecom_client.open_reply(res.content).content
    finally:
        server.shutdown()
        server.server_close()


def test_unregistered_user_is_told_whom_to_ask(http, wecom_client):
    res = post(http, wecom_client, wecom_client.text_xml("stranger", "帮助"))
    assert "不在支部助手的党员名单里" in wecom_client.open_reply(res.data).content


def test_a_reply_quoting_cdata_end_is_still_well_formed(http, wecom_client, wecom_demo):
    add_handler(wecom_demo, "echo", "回声", lambda incoming, ctx: Reply(text=incoming.text))
    res = post(http, wecom_client, wecom_client.text_xml("demo-dangyuan", "回声 a]]>b<c>&d"))
    assert wecom_client.open_reply(res.data).content == "回声 a]]>b<c>&d"


def test_non_text_message_asks_for_text(http, wecom_client):
    res = post(http, wecom_client, wecom_client.image_xml("demo-dangyuan"))
    assert "请发送文字消息" in wecom_client.open_reply(res.data).content


# --- dedupe --------------------------------------------------------------------------------------------------------
def test_same_message_three_times_has_one_effect_and_the_same_answer(http, wecom_client, wecom_demo):
    add_handler(wecom_demo, "effect", "记一笔", audited)
    before = count(wecom_demo, AuditLog)
    xml = wecom_client.text_xml("demo-shuji", "记一笔", msg_id=4561255354251345929)
    answers = [post(http, wecom_client, xml) for _ in range(3)]  # WeCom re-encrypts each retry with a new nonce
    assert [a.status_code for a in answers] == [200, 200, 200]
    # a retry means the answer was lost on the way: it gets the same answer again
    assert [wecom_client.open_reply(a.data).content for a in answers] == ["已记录"] * 3
    assert count(wecom_demo, AuditLog) == before + 1


def test_concurrent_retries_over_http_have_one_effect(app, wecom_client, wecom_demo):
    add_handler(wecom_demo, "effect", "记一笔", audited)
    before = count(wecom_demo, AuditLog)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}{URL}"
        xml = wecom_client.text_xml("demo-shuji", "记一笔")
        results: list[requests.Response] = []
        threads = [threading.Thread(target=lambda: results.append(wecom_client.post(url, xml))) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(r.status_code for r in results) == [200, 200, 200]
        # a retry that arrives while the first is being handled may be answered empty; any answer is the one answer
        answered = [wecom_client.open_reply(r.content).content for r in results if r.content]
        assert answered and set(answered) == {"已记录"}
        assert count(wecom_demo, AuditLog) == before + 1
    finally:
        server.shutdown()
        server.server_close()


def test_events_enter_agent_click_and_dedupe(http, wecom_client, wecom_demo):
    now = int(wecom_client.clock())
    res = post(http, wecom_client, wecom_client.event_xml("demo-dangyuan", "enter_agent", create_time=now))
    assert "看看我能做什么" in wecom_client.open_reply(res.data).content
    # a menu click in the same second is a different event: it runs its key as a command
    res = post(http, wecom_client, wecom_client.event_xml("demo-dangyuan", "click", "我的信息", create_time=now))
    assert "张伟" in wecom_client.open_reply(res.data).content and "第一党支部" in wecom_client.open_reply(res.data).content
    # the retry of that click gets the same answer
    retry = post(http, wecom_client, wecom_client.event_xml("demo-dangyuan", "click", "我的信息", create_time=now))
    assert wecom_client.open_reply(retry.data).content == wecom_client.open_reply(res.data).content
    assert count(wecom_demo, ProcessedMessage) == 2


@pytest.mark.parametrize("event", ["subscribe", "LOCATION", "view", "template_card_event", "change_contact"])
def test_other_events_are_acknowledged_and_ignored(http, wecom_client, wecom_demo, event):
    res = post(http, wecom_client, wecom_client.event_xml("demo-dangyuan", event, "x"))
    assert res.status_code == 200 and res.data == b""
    assert count(wecom_demo, ProcessedMessage) == 0


# --- bad input -----------------------------------------------------------------------------------------------------
def test_wrong_signature_wrong_corp_wrong_key_get_403_and_store_nothing(http, wecom_client, wecom_demo):
    xml = wecom_client.text_xml("demo-dangyuan", "帮助")
    query, body = wecom_client.encrypt_envelope(xml)
    tampered = query.replace("msg_signature=", "msg_signature=0")
    assert http.post(f"{URL}?{tampered}", data=body).status_code == 403
    assert post(http, wecom_client, xml, receive_id="ww-someone-else").status_code == 403
    other_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    for key in (other_key, "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"):
        impostor = WecomClient(WECOM_TOKEN, key, WECOM_CORP_ID)  # right token, wrong key: signature passes
        res = post(http, impostor, impostor.text_xml("demo-dangyuan", "帮助"))
        assert res.status_code == 403 and res.data == b""
    wrong_token = WecomClient("another", WECOM_AES_KEY, WECOM_CORP_ID)
    assert post(http, wrong_token, xml).status_code == 403
    get = http.get(f"{URL}?{wecom_client.verify_query('123').replace('msg_signature=', 'msg_signature=f')}")
    assert get.status_code == 403 and get.data == b""
    assert count(wecom_demo, ProcessedMessage) == 0


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
                  '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
                  '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>')
XXE = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'


def test_hostile_and_malformed_xml_gets_400(http, wecom_client, wecom_demo):
    query, _ = wecom_client.encrypt_envelope(wecom_client.text_xml("demo-dangyuan", "帮助"))
    bodies = [
        BILLION_LAUGHS + "<xml><Encrypt>&d;</Encrypt></xml>",
        XXE + "<xml><Encrypt>&x;</Encrypt></xml>",
        "<xml><Encrypt>abc",  # truncated
        "not xml at all",
        "",
        "<xml><ToUserName>x</ToUserName></xml>",  # no Encrypt
        "<other><Encrypt>abc</Encrypt></other>",
    ]
    for body in bodies:
        res = http.post(f"{URL}?{query}", data=body.encode())
        assert res.status_code == 400, body
        assert res.data == b""
    # over 64 KB, with and without a Content-Length
    big = "<xml><Encrypt>" + "A" * 70_000 + "</Encrypt></xml>"
    assert http.post(f"{URL}?{query}", data=big.encode()).status_code == 400
    assert http.post(f"{URL}?{query}", input_stream=io.BytesIO(big.encode())).status_code == 400
    # a POST without the signature parameters
    assert http.post(URL, data=b"<xml><Encrypt>abc</Encrypt></xml>").status_code == 400
    assert count(wecom_demo, ProcessedMessage) == 0


def test_hostile_plaintext_inside_a_valid_envelope_gets_400(http, wecom_client, wecom_demo):
    """Properly signed and encrypted, but the decrypted XML is hostile or incomplete."""
    header = (f"<ToUserName>{cdata(WECOM_CORP_ID)}</ToUserName><FromUserName>demo-dangyuan</FromUserName>"
              "<CreateTime>1409659813</CreateTime><MsgType>text</MsgType>")
    plaintexts = [
        BILLION_LAUGHS + f"<xml>{header}<Content>&d;</Content><MsgId>1</MsgId></xml>",
        XXE + f"<xml>{header}<Content>&x;</Content><MsgId>2</MsgId></xml>",
        "<xml><ToUserName>x</ToUserName><MsgType>text</MsgType><Content>hi</Content><MsgId>3</MsgId></xml>",
        f"<xml>{header}<Content>no msgid</Content></xml>",
        f"<xml>{header.replace('1409659813', 'yesterday')}<Content>x</Content><MsgId>4</MsgId></xml>",
        "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType></xml>",
        "<xml><unclosed>",
    ]
    for plain in plaintexts:
        res = post(http, wecom_client, plain)
        assert res.status_code == 400, plain
    assert count(wecom_demo, ProcessedMessage) == 0


def test_get_without_parameters_is_400(http):
    assert http.get(URL).status_code == 400


# --- slow handlers and long replies --------------------------------------------------------------------------------
def test_slow_handler_gets_an_empty_200_and_the_reply_is_pushed(app, http, wecom_client, wecom_demo, fake_wecom):
    release = threading.Event()

    def slow(incoming, ctx) -> Reply:
        release.wait(10)
        return Reply(text="慢慢算好的结果")

    add_handler(wecom_demo, "slow", "慢查询", slow)
    app.extensions["zhibu.wecom"].handler_timeout = 0.2
    started = time.monotonic()
    res = post(http, wecom_client, wecom_client.text_xml("demo-shuji", "慢查询"))
    assert res.status_code == 200 and res.data == b""
    assert time.monotonic() - started < 5  # answered while the handler is still running
    assert fake_wecom.inbox["demo-shuji"] == []
    release.set()
    assert wait_for(lambda: len(fake_wecom.inbox["demo-shuji"]) == 1)
    pushed = fake_wecom.inbox["demo-shuji"][0]
    assert pushed.msgtype == "text" and "慢慢算好的结果" in pushed.content and "回复你" in pushed.content
    send = fake_wecom.calls("message/send")[0].body
    assert send["enable_duplicate_check"] == 1 and send["duplicate_check_interval"] >= 1800


def test_long_reply_first_part_passive_rest_pushed_in_order(http, wecom_client, wecom_demo, fake_wecom):
    """A reply of many parts: the first answers passively, the next two are pushed in order, and the rest is left
    out with a note (one message never causes more than three parts)."""
    lines = [f"第{i:03d}行：" + "支部工作记录" * 8 for i in range(120)]
    text = "\n".join(lines)
    assert len(text.encode()) > 3 * 2048
    add_handler(wecom_demo, "long", "长回复", lambda incoming, ctx: Reply(text=text))
    xml = wecom_client.text_xml("demo-zuzhi", "长回复")
    res = post(http, wecom_client, xml)
    res.close()  # as a WSGI server does once the body is sent: that is when the rest is pushed
    first = wecom_client.open_reply(res.data).content
    assert 0 < len(first.encode()) <= 2048 and first.startswith("第000行")
    assert wait_for(lambda: len(fake_wecom.inbox["demo-zuzhi"]) >= 2)
    time.sleep(0.3)
    parts = [d.content for d in fake_wecom.inbox["demo-zuzhi"]]
    assert len(parts) == 2 and all(len(p.encode()) <= 2048 for p in parts)
    bodies = []
    for i, part in enumerate(parts, start=2):
        header, body = part.split("\n", 1)
        assert header.startswith(f"（续 {i}/3")
        bodies.append(body)
    assert bodies[-1].endswith(CUT_NOTE)
    shown = "\n".join([first, *bodies]).removesuffix("\n" + CUT_NOTE)
    assert text.startswith(shown) and len(shown) < len(text)  # in order, the end left out
    # WeCom retrying that same message gets the same first part; the platform's duplicate guard drops the rest
    assert wecom_client.open_reply(post(http, wecom_client, xml).data).content == first
    time.sleep(0.3)
    assert len(fake_wecom.inbox["demo-zuzhi"]) == 2


def test_no_500_even_when_the_reply_cannot_be_built(http, wecom_client, wecom_demo, monkeypatch):
    from bot.channels.wecom import callback as channel

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(channel, "reply_xml", broken)
    res = post(http, wecom_client, wecom_client.text_xml("demo-dangyuan", "帮助"))
    assert res.status_code == 200 and b"boom" not in res.data and b"Traceback" not in res.data


def test_retries_reaching_two_workers_have_one_effect(any_db_url, segmenter, fake_wecom, wecom_client, clock):
    """Two app instances with their own engines (as two gunicorn workers) on one database, SQLite and PostgreSQL."""
    from bot.demo import seed_demo
    from bot.runtime import build_runtime
    from storage.db import transaction, upgrade
    from tests.conftest import make_settings, wecom_env

    upgrade(any_db_url)
    runtimes = [build_runtime(make_settings(any_db_url, **wecom_env(fake_wecom.url)), segmenter=segmenter,
                              clock=clock) for _ in range(2)]
    try:
        with transaction(runtimes[0].sessions) as session:
            seed_demo(session)
        before = count(runtimes[0], AuditLog)
        for rt in runtimes:
            add_handler(rt, "effect", "记一笔", audited)
        clients = [create_app(runtime=rt).test_client() for rt in runtimes]
        xml = wecom_client.text_xml("demo-shuji", "记一笔")
        results: list = [None] * 4
        barrier = threading.Barrier(4)

        def deliver(i: int) -> None:
            barrier.wait()
            results[i] = post(clients[i % 2], wecom_client, xml)

        threads = [threading.Thread(target=deliver, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r.status_code for r in results] == [200] * 4
        answered = [wecom_client.open_reply(r.data).content for r in results if r.data]
        assert answered and set(answered) == {"已记录"}
        assert count(runtimes[0], AuditLog) == before + 1
    finally:
        for rt in runtimes:
            rt.close()
