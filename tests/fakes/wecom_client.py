"""Plays WeCom's side of the callback: builds and encrypts messages exactly as WeCom does, and opens the replies.

The cipher is written here from the protocol (cryptography's AES-256-CBC, not wechatpy), so tests check the bot's
wechatpy-based code against an independent implementation. Works over real HTTP (`post`, `verify`) and builds raw
requests for Flask's test client (`signed_query`, `encrypt_envelope`).
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml.ElementTree import fromstring

BLOCK = 32  # WeCom pads PKCS#7 to 32 bytes, not AES's 16


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass
class Opened:
    """A decrypted passive reply."""

    fields: dict[str, str]
    receive_id: str

    @property
    def content(self) -> str:
        return self.fields.get("Content", "")


class WecomClient:
    _msg_ids = itertools.count(int(time.time() * 1000) * 1000)

    def __init__(self, token: str, aes_key: str, corp_id: str, agent_id: int = 1000002,
                 clock: Callable[[], float] = time.time) -> None:
        self.clock = clock  # CreateTime: the bot refuses a message dated a day away from its own clock
        self.token = token
        self.key = base64.b64decode(aes_key + "=")
        assert len(self.key) == 32
        self.corp_id = corp_id
        self.agent_id = agent_id

    # the cipher -------------------------------------------------------------------------------------------
    def encrypt(self, plaintext: str, random_prefix: bytes | None = None, receive_id: str | None = None) -> str:
        msg = plaintext.encode("utf-8")
        prefix = random_prefix if random_prefix is not None else os.urandom(16)
        rid = (self.corp_id if receive_id is None else receive_id).encode()
        raw = prefix + struct.pack(">I", len(msg)) + msg + rid
        pad = BLOCK - len(raw) % BLOCK
        raw += bytes([pad]) * pad
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(enc.update(raw) + enc.finalize()).decode()

    def decrypt(self, encrypt: str) -> tuple[str, str]:
        dec = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        raw = dec.update(base64.b64decode(encrypt)) + dec.finalize()
        pad = raw[-1]
        if not 1 <= pad <= BLOCK or raw[-pad:] != bytes([pad]) * pad:
            raise ValueError("bad padding")
        raw = raw[16:-pad]
        (n,) = struct.unpack(">I", raw[:4])
        return raw[4:4 + n].decode("utf-8"), raw[4 + n:].decode("utf-8")

    # messages as WeCom sends them -------------------------------------------------------------------------
    def next_msg_id(self) -> int:
        return next(self._msg_ids)

    def text_xml(self, user: str, content: str, msg_id: int | None = None, create_time: int | None = None) -> str:
        return ("<xml>"
                f"<ToUserName>{cdata(self.corp_id)}</ToUserName>"
                f"<FromUserName>{cdata(user)}</FromUserName>"
                f"<CreateTime>{create_time or int(self.clock())}</CreateTime>"
                f"<MsgType>{cdata('text')}</MsgType>"
                f"<Content>{cdata(content)}</Content>"
                f"<MsgId>{msg_id if msg_id is not None else self.next_msg_id()}</MsgId>"
                f"<AgentID>{self.agent_id}</AgentID>"
                "</xml>")

    def event_xml(self, user: str, event: str, key: str = "", create_time: int | None = None) -> str:
        return ("<xml>"
                f"<ToUserName>{cdata(self.corp_id)}</ToUserName>"
                f"<FromUserName>{cdata(user)}</FromUserName>"
                f"<CreateTime>{create_time or int(self.clock())}</CreateTime>"
                f"<MsgType>{cdata('event')}</MsgType>"
                f"<AgentID>{self.agent_id}</AgentID>"
                f"<Event>{cdata(event)}</Event>"
                f"<EventKey>{cdata(key)}</EventKey>"
                "</xml>")

    def image_xml(self, user: str, msg_id: int | None = None) -> str:
        return ("<xml>"
                f"<ToUserName>{cdata(self.corp_id)}</ToUserName><FromUserName>{cdata(user)}</FromUserName>"
                f"<CreateTime>{int(self.clock())}</CreateTime><MsgType>{cdata('image')}</MsgType>"
                f"<PicUrl>{cdata('http://127.0.0.1/p.jpg')}</PicUrl><MediaId>{cdata('m1')}</MediaId>"
                f"<MsgId>{msg_id if msg_id is not None else self.next_msg_id()}</MsgId>"
                f"<AgentID>{self.agent_id}</AgentID></xml>")

    # envelopes and query strings --------------------------------------------------------------------------
    def encrypt_envelope(self, plaintext: str, *, timestamp: str | None = None, nonce: str | None = None,
                         random_prefix: bytes | None = None, receive_id: str | None = None) -> tuple[str, str]:
        """(query string, body) of the POST WeCom would make for this plaintext."""
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or str(int.from_bytes(os.urandom(4), "big"))
        encrypt = self.encrypt(plaintext, random_prefix, receive_id)
        query = urlencode({"msg_signature": signature(self.token, timestamp, nonce, encrypt),
                           "timestamp": timestamp, "nonce": nonce})
        body = (f"<xml><ToUserName>{cdata(self.corp_id)}</ToUserName><Encrypt>{cdata(encrypt)}</Encrypt>"
                f"<AgentID>{cdata(str(self.agent_id))}</AgentID></xml>")
        return query, body

    def verify_query(self, echo: str, timestamp: str | None = None, nonce: str = "263014780") -> str:
        """The URL-verification query string for a chosen echo plaintext (properly %-encoded, as WeCom sends)."""
        timestamp = timestamp or str(int(time.time()))
        echostr = self.encrypt(echo)
        return urlencode({"msg_signature": signature(self.token, timestamp, nonce, echostr), "timestamp": timestamp,
                          "nonce": nonce, "echostr": echostr})

    def open_reply(self, body: str | bytes) -> Opened:
        """Check a passive reply's signature and decrypt it, as WeCom would; raises AssertionError if it is wrong."""
        env = {c.tag: (c.text or "") for c in fromstring(body)}
        expected = signature(self.token, env["TimeStamp"], env["Nonce"], env["Encrypt"])
        assert env["MsgSignature"] == expected, "reply signature does not match"
        plain, rid = self.decrypt(env["Encrypt"])
        return Opened({c.tag: (c.text or "") for c in fromstring(plain)}, rid)

    # over real HTTP ---------------------------------------------------------------------------------------
    def post(self, url: str, plaintext: str, session=None, timeout: float = 10.0, **kw):
        import requests

        query, body = self.encrypt_envelope(plaintext, **kw)
        http = session or requests
        return http.post(f"{url}?{query}", data=body.encode(), timeout=timeout,
                         headers={"Content-Type": "text/xml"})

    def send_text(self, url: str, user: str, content: str, session=None, **kw):
        return self.post(url, self.text_xml(user, content, **kw), session=session)

