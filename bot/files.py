"""Files a reply promises (Reply.file): built after the message's transaction, sent to the asker alone.

A handler checks the request (role, period, that there is data) and returns a `FileRef`; the file itself is built here
by `FILE_MAKERS[purpose](session, params)` in its own short read-only session (on SQLite a deferred transaction, so a
big export never holds the write lock other members' messages need), then handed to the channel's pusher
(`send_file`). When the platform cannot take it (an error, over its size limit, a member it cannot reach) the asker
gets a signed link to /files/<purpose>/<token> instead, valid 24 hours and bound to them; bot/web_files.py serves it
through the same maker.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session, sessionmaker

from bot.messages import Attachment, FileRef, Reply
from bot.push import PushResult
from bot.settings import Settings
from bot.signing import MalformedToken, id_field, signed_url

log = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(hours=24)
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BY = "by"  # the token field naming the member a link was made for

FileMaker = Callable[[Session, dict[str, Any]], Attachment]


class FileGone(LookupError):
    """The thing the file is about no longer exists or has nothing in it; str() is shown to the member."""


# shape checks for a token's (or a FileRef's) params -------------------------------------------------------------
def _text_field(data: dict[str, Any], key: str, parse: Callable[[str], Any], max_len: int) -> Any:
    """`parse` of a short string field; MalformedToken for anything else, whatever `parse` raises."""
    value = data.get(key)
    if isinstance(value, str) and 0 < len(value) <= max_len:
        try:
            parsed = parse(value)
        except (ValueError, ZoneInfoNotFoundError):
            parsed = None
        if parsed is not None:
            return parsed
    raise MalformedToken("内容损坏")


def day_field(data: dict[str, Any], key: str) -> date:
    return _text_field(data, key, lambda v: date.fromisoformat(v) if len(v) == 10 else None, 10)


def moment_field(data: dict[str, Any], key: str) -> datetime:
    """An aware moment: a naive one is malformed."""
    return _text_field(data, key, lambda v: at if (at := datetime.fromisoformat(v)).tzinfo else None, 40)


def zone_field(data: dict[str, Any], key: str) -> ZoneInfo:
    return _text_field(data, key, ZoneInfo, 60)


def int_field(data: dict[str, Any], key: str, low: int, high: int) -> int:
    value = data.get(key)
    if type(value) is not int or not low <= value <= high:
        raise MalformedToken("内容损坏")
    return value


def _org(session: Session, data: dict[str, Any], key: str = "org"):
    from storage.models import Organization

    org = session.get(Organization, id_field(data, key))
    if org is None:
        raise FileGone("该党组织已不存在")
    return org


# the makers ----------------------------------------------------------------------------------------------------
def term_letter_file(session: Session, data: dict[str, Any]) -> Attachment:
    from reminders.letter import LetterError, build_letter, letter_facts, letter_filename

    day = day_field(data, "on")
    org = _org(session, data)
    try:
        facts = letter_facts(session, org, day)
    except LetterError as err:
        raise FileGone(str(err)) from None
    return Attachment(letter_filename(facts), build_letter(facts), DOCX_MIMETYPE)


def ledger_file(session: Session, data: dict[str, Any]) -> Attachment:
    from storage.ledger_data import LedgerError, month_ledger

    year, mon = int_field(data, "year", 2000, 9999), int_field(data, "month", 1, 12)
    at, tz = moment_field(data, "at"), zone_field(data, "tz")
    org = _org(session, data)
    try:
        ledger = month_ledger(session, org, year, mon, tz, at)
    except LedgerError as err:
        raise FileGone(str(err)) from None
    return Attachment(ledger.filename, ledger.data)


def dues_file(session: Session, data: dict[str, Any]) -> Attachment:
    from storage.dues_export import dues_filename, export_dues

    year, on = int_field(data, "year", 2000, 9999), day_field(data, "on")
    org = _org(session, data)
    return Attachment(dues_filename(org, year), export_dues(session, [org], year, on))


def development_file(session: Session, data: dict[str, Any]) -> Attachment:
    from storage.development_sheets import development_filename, export_workbook
    from storage.models import Organization

    ids, on = data.get("orgs"), day_field(data, "on")
    if not isinstance(ids, list) or not 0 < len(ids) <= 1000:
        raise MalformedToken("内容损坏")
    orgs = [session.get(Organization, id_field({"id": i}, "id")) for i in ids]
    if any(o is None for o in orgs):
        raise FileGone("有党组织已不存在")
    body, _ = export_workbook(session, orgs, on)
    return Attachment(development_filename(orgs, on), body)


def overview_file(session: Session, data: dict[str, Any]) -> Attachment:
    from reminders.oversight_state import branches_under, load_tree
    from reminders.overview_export import export_overview
    from reminders.overview_periods import overview_filename, parse_export_period

    roots, on, tz = data.get("orgs"), day_field(data, "on"), zone_field(data, "tz")
    if not isinstance(roots, list) or not 0 < len(roots) <= 100:
        raise MalformedToken("内容损坏")
    period = _text_field(data, "period", lambda v: parse_export_period(v, on), 10)
    tree = load_tree(session)
    roots = [id_field({"id": i}, "id") for i in roots]
    if any(r not in tree for r in roots):
        raise FileGone("有党组织已不存在")
    ids = branches_under(tree, roots)
    if not ids:
        raise FileGone("所辖组织下已没有党支部")
    named = [(tree[r].name, tree[r].type) for r in roots]
    return Attachment(overview_filename(named, period), export_overview(session, ids, period, on, tz, tree))


FILE_MAKERS: dict[str, FileMaker] = {
    "term-letter": term_letter_file,
    "ledger": ledger_file,
    "dues": dues_file,
    "development": development_file,
    "overview": overview_file,
}


# saving (the console) ------------------------------------------------------------------------------------------
def save_export(attachment: Attachment, directory: Path) -> Path:
    """Write the file under `directory`, never over an earlier one: "name.xlsx", "name (2).xlsx", …"""
    directory.mkdir(parents=True, exist_ok=True)
    name = Path(attachment.filename).name or "文件"
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, 10_000):
        path = directory / (name if n == 1 else f"{stem} ({n}){suffix}")
        try:
            with path.open("xb") as out:
                out.write(attachment.data)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"{directory} 里同名文件太多")


# delivery ------------------------------------------------------------------------------------------------------
class FileService:
    """Builds a reply's file and delivers it through a channel's pusher, with the signed link as the fallback."""

    def __init__(self, read_sessions: sessionmaker[Session], settings: Settings,
                 clock: Callable[[], datetime]) -> None:
        self.read_sessions = read_sessions
        self.settings = settings
        self.clock = clock

    def build(self, ref: FileRef) -> Attachment:
        """The file, from a read-only transaction of its own (raises FileGone, MalformedToken)."""
        maker = FILE_MAKERS[ref.purpose]
        with self.read_sessions() as session, session.begin():
            return maker(session, ref.params)

    def link(self, ref: FileRef) -> str:
        return signed_url(self.settings.public_url, self.settings.secret_key, ref.purpose,
                          {**ref.params, BY: ref.member_id}, self.clock() + LINK_LIFETIME)

    def deliver(self, pusher, user_id: str, ref: FileRef, key: str) -> PushResult:
        """Build and send; on failure send the link. Never raises (it runs on a background thread)."""
        try:
            return self._deliver(pusher, user_id, ref, key)
        except Exception:
            log.exception("delivering %s failed", ref.purpose)
            return PushResult(ok=False, error="发送文件出错")

    def _deliver(self, pusher, user_id: str, ref: FileRef, key: str) -> PushResult:
        try:
            attachment = self.build(ref)
        except FileGone as err:
            return pusher.push(user_id, Reply(text=f"{ref.filename}没有生成：{err}。"), f"{key}:gone")
        except Exception:
            log.exception("building %s failed", ref.purpose)
            return pusher.push(user_id, Reply(text=f"{ref.filename}生成出错了，请稍后重新发送命令。"), f"{key}:error")
        send = getattr(pusher, "send_file", None)
        result = send(user_id, attachment, key) if send else PushResult(ok=False, error="该渠道不能发文件")
        if result.ok:
            return result
        log.warning("file %s not sent (%s); sending a link instead", ref.purpose, result.error)
        text = (f"{attachment.filename}没能直接发给你。请在 24 小时内打开下面的链接下载（仅限本人使用）：\n"
                f"{self.link(ref)}")
        linked = pusher.push(user_id, Reply(text=text, private=True), f"{key}:link")
        if not linked.ok:
            log.warning("the link to %s was not delivered either: %s", ref.purpose, linked.error)
        return linked
