"""WeCom's callback wire format: the XML envelope, signature check, decryption, and the encrypted passive reply.

Every failure is one of two exceptions, so the view can answer 400 (malformed) or 403 (not from WeCom) and never 500.
"""
from __future__ import annotations

from xml.parsers import expat

from wechatpy.enterprise import create_reply
from wechatpy.enterprise.crypto import WeChatCrypto

MAX_BODY = 64 * 1024


class Malformed(Exception):
    """The request is not well-formed WeCom XML (or is hostile XML): 400."""


class Rejected(Exception):
    """Signature, key or corp id do not match: 403, with no detail."""


class _Refused(Exception):
    pass


def _refuse(*_args) -> None:
    raise _Refused()


class _Children:
    """Collects the root's direct children as {tag: text} from expat's callbacks."""

    __slots__ = ("fields", "depth", "root", "tag", "text")

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.depth = 0
        self.root: str | None = None
        self.tag = ""
        self.text: list[str] = []

    def start(self, name: str, _attrs) -> None:
        self.depth += 1
        if self.depth == 1:
            self.root = name
        elif self.depth == 2:
            self.tag, self.text = name, []

    def end(self, _name: str) -> None:
        if self.depth == 2:
            self.fields[self.tag] = "".join(self.text)
        self.depth -= 1

    def data(self, text: str) -> None:
        if self.depth == 2:
            self.text.append(text)


def xml_fields(text: str | bytes) -> dict[str, str]:
    """The root's direct children as {tag: text}. DTDs and entities are refused (billion laughs, external entities).

    expat with three callbacks, not an ElementTree: each callback request parses twice (envelope, then message),
    and a tree costs twice as much for the same refusal of DTDs that defusedxml makes.
    """
    children = _Children()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.StartElementHandler = children.start
    parser.EndElementHandler = children.end
    parser.CharacterDataHandler = children.data
    try:
        parser.Parse(text, True)
    except (expat.ExpatError, _Refused, ValueError) as err:
        raise Malformed(type(err).__name__) from None
    if children.root != "xml":
        raise Malformed("root is not <xml>")
    return children.fields


def reply_xml(text: str, message) -> str:
    """The passive text reply to wechatpy's parsed `message`, as XML (before encryption).

    wechatpy's create_reply puts the text into one CDATA section as it is: a "]]>" in it (a member's words quoted
    back) would end the section early and WeCom would get broken XML. It is split there, as XML does.
    """
    return create_reply(text.replace("]]>", "]]]]><![CDATA[>"), message, render=True)


class CallbackCrypto:
    """wechatpy's enterprise WeChatCrypto behind a narrow interface that raises only Malformed or Rejected."""

    def __init__(self, token: str, aes_key: str, corp_id: str) -> None:
        self._crypto = WeChatCrypto(token, aes_key, corp_id)

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        if not (signature and timestamp and nonce and echostr):
            raise Malformed("missing query parameter")
        try:
            return self._crypto.check_signature(signature, timestamp, nonce, echostr)
        except Exception:
            # InvalidSignature / InvalidCorpId, and a wrong key surfaces as a raw UnicodeDecodeError or struct.error
            raise Rejected() from None

    def decrypt(self, body: bytes, signature: str, timestamp: str, nonce: str) -> str:
        if not (signature and timestamp and nonce):
            raise Malformed("missing query parameter")
        encrypt = xml_fields(body).get("Encrypt", "").strip()
        if not encrypt:
            raise Malformed("no <Encrypt>")
        try:
            plain = self._crypto.decrypt_message({"Encrypt": encrypt}, signature, timestamp, nonce)
        except Exception:
            raise Rejected() from None
        if not isinstance(plain, str) or not plain:
            raise Rejected()
        return plain

    def encrypt_reply(self, reply_xml: str, nonce: str, timestamp: str) -> str:
        return self._crypto.encrypt_message(reply_xml, nonce, timestamp)
