"""WeCom's callback wire format: the XML envelope, signature check, decryption, and the encrypted passive reply.

Every failure is one of two exceptions, so the view can answer 400 (malformed) or 403 (not from WeCom) and never 500.
"""
from __future__ import annotations

from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy.enterprise.crypto import WeChatCrypto

MAX_BODY = 64 * 1024


class Malformed(Exception):
    """The request is not well-formed WeCom XML (or is hostile XML): 400."""


class Rejected(Exception):
    """Signature, key or corp id do not match: 403, with no detail."""


def xml_fields(text: str | bytes) -> dict[str, str]:
    """The root's direct children as {tag: text}. DTDs and entities are refused (billion laughs, external entities)."""
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as err:
        raise Malformed(type(err).__name__) from None
    if root.tag != "xml":
        raise Malformed("root is not <xml>")
    return {child.tag: (child.text or "") for child in root}


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
