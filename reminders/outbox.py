"""The outbox dispatcher: delivers each planned push once.

A pass claims due rows, marks them in flight, pushes each through its recipient's Pusher with the row's dedupe key
(the platform's own duplicate guard: WeCom enable_duplicate_check, DingTalk msgUuid) and marks it sent.

Exactly once, even across crashes and several dispatchers:
- the claim is one short transaction: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two dispatchers never claim the same
  row; on SQLite the transaction starts with BEGIN IMMEDIATE (storage/db.py), so only one writer claims at a time;
- a claimed row is `in_flight` with a lease (next_attempt_at); a dispatcher that dies leaves it there, and the next
  claim after the lease re-sends it through the same platform with the same key and the same body, which the
  platform's guard drops if the first call had in fact reached it;
- "sent" is written only by the claim that still holds the row (status in_flight and the same attempt number).
"""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.messages import Button, Card, Reply
from bot.push import Pusher, PushResult, choose_platform, platform_account
from reminders.rules import DEFAULT_TZ
from storage.db import transaction
from storage.models import Member, Organization, OutboxMessage, Role
from storage.orgs import branch_of

log = logging.getLogger(__name__)

# pushes per recipient per minute that each platform accepts (WeCom: 30 per member; DingTalk robot: 20)
RATE_LIMITS: dict[str, int] = {"wecom": 30, "dingtalk": 20, "dingtalk_group": 20}
RATE_WINDOW = timedelta(minutes=1)
UNREACHABLE_KIND = "unreachable"
NOTIFY_ROLES = ("书记", "副书记", "组织委员")  # who hears about unreachable members, first that exists


@dataclass(frozen=True)
class DispatchPolicy:
    batch_size: int = 10  # claimed together; their calls must all finish well inside one lease
    max_attempts: int = 8  # claims of one row, crashes included; then it is failed with its last error
    backoff_base: timedelta = timedelta(minutes=1)  # 1, 2, 4, … minutes after each failed attempt
    backoff_cap: timedelta = timedelta(hours=2)
    lease: timedelta = timedelta(minutes=5)  # longer than any platform call (their timeouts are seconds)
    rate_limits: dict[str, int] = field(default_factory=lambda: dict(RATE_LIMITS))
    max_passes: int = 1000  # batches per dispatch call, a guard against a runaway loop

    def backoff(self, attempts: int) -> timedelta:
        return min(self.backoff_cap, self.backoff_base * (2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Outcome:
    """What happened to one row in this pass; `status` is the row's status afterwards."""

    row_id: int
    dedupe_key: str
    recipient: str  # the member's name, or "—"
    platform: str | None
    status: str  # sent / pending (will retry) / failed / expired / deferred (rate limit) / lost (lease taken over)
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "pending")


@dataclass
class DispatchReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def of(self, *statuses: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in statuses]

    @property
    def sent(self) -> int:
        return len(self.of("sent"))

    @property
    def failed(self) -> int:
        return len([o for o in self.outcomes if o.failed])

    def summary(self) -> str:
        return f"已发送 {self.sent} 条，失败 {self.failed} 条"


@dataclass(frozen=True)
class _Claim:
    row_id: int
    dedupe_key: str
    attempts: int
    platform: str
    user_id: str
    recipient: str
    reply: Reply
    lease_until: datetime


Renderer = Callable[[OutboxMessage], Reply]


def plain_renderer(row: OutboxMessage) -> Reply:
    """Text and title from the row's content; a pure function of the row, so a re-send is byte-identical."""
    content = row.content or {}
    text = str(content.get("text") or "")
    title = content.get("title")
    card = Card(title=str(title), lines=tuple(text.splitlines())) if title else None
    return Reply(text=text, card=card)


def letter_renderer(public_url: str, secret_key: str, tz: tzinfo = DEFAULT_TZ) -> Renderer:
    """Adds the server's address to a row's `link` path (the 党委's monthly digest links the console), and the signed
    换届提醒函 link to rows whose content has `letter`; the link's expiry comes from the row,
    never from the clock, so a crash re-send carries the same link and the platform guard still sees a duplicate."""
    from bot.signing import signed_url
    from reminders.letter import LETTER_PURPOSE, letter_link_expiry

    def render(row: OutboxMessage) -> Reply:
        reply = plain_renderer(row)
        path, label = (row.content or {}).get("link"), str((row.content or {}).get("link_label") or "打开链接")
        if isinstance(path, str) and path.startswith("/"):  # a page of this server: the row keeps only its path
            url = f"{public_url}{path}"
            return Reply(text=f"{reply.text}\n{label}：{url}", card=Card(
                title=reply.card.title if reply.card else label, lines=tuple(reply.text.splitlines()),
                buttons=(Button(label, url=url),)))
        if not (row.content or {}).get("letter") or row.organization_id is None:
            return reply
        url = signed_url(public_url, secret_key, LETTER_PURPOSE,
                         {"org": row.organization_id, "on": row.due_at.astimezone(tz).date().isoformat()},
                         letter_link_expiry(row.due_at, row.relevant_until))
        text = f"{reply.text}\n换届提醒函：{url}"
        card = Card(title=reply.card.title if reply.card else "换届提醒",
                    lines=tuple(reply.text.splitlines()), buttons=(Button("下载换届提醒函", url=url),))
        return Reply(text=text, card=card)

    return render


class Dispatcher:
    def __init__(self, sessions: sessionmaker[Session], pushers: dict[str, Pusher], clock: Callable[[], datetime],
                 policy: DispatchPolicy | None = None, render: Renderer = plain_renderer) -> None:
        self.sessions = sessions
        self.pushers = pushers
        self.clock = clock
        self.policy = policy or DispatchPolicy()
        self.render = render

    # ---- one pass ------------------------------------------------------------------------------------------------

    def dispatch(self, on_outcome: Callable[[Outcome], None] | None = None,
                 only: Collection[int] | None = None) -> DispatchReport:
        """Send every row due now (or only those of these ids), batch after batch, until none is left to claim."""
        report = DispatchReport()
        for _ in range(self.policy.max_passes):
            claims, settled = self.claim(only)
            for outcome in settled:
                report.outcomes.append(outcome)
                if on_outcome:
                    on_outcome(outcome)
            if not claims and not settled:
                break
            for claim in claims:
                outcome = self.deliver(claim)
                report.outcomes.append(outcome)
                if on_outcome:
                    on_outcome(outcome)
        return report

    # ---- claiming ------------------------------------------------------------------------------------------------

    def claim(self, only: Collection[int] | None = None) -> tuple[list[_Claim], list[Outcome]]:
        """One short transaction: pick due rows, settle those that cannot be sent, mark the rest in flight."""
        now = self.clock()
        with transaction(self.sessions) as session:
            rows = self._due_rows(session, now, only)
            claims, settled = self._claim_rows(session, rows, now) if rows else ([], [])
        return claims, settled

    def _due_rows(self, session: Session, now: datetime, only: Collection[int] | None) -> list[OutboxMessage]:
        query = (select(OutboxMessage)
                 .where(or_(and_(OutboxMessage.status == "pending", OutboxMessage.due_at <= now,
                                 or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now)),
                            # a lease that ran out: its dispatcher died (or hung) between claim and result
                            and_(OutboxMessage.status == "in_flight", OutboxMessage.next_attempt_at <= now)))
                 .order_by(OutboxMessage.due_at, OutboxMessage.id)
                 .limit(self.policy.batch_size))
        if only is not None:
            query = query.where(OutboxMessage.id.in_(list(only)))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(session.scalars(query))

    def _claim_rows(self, session: Session, rows: list[OutboxMessage],
                    now: datetime) -> tuple[list[_Claim], list[Outcome]]:
        members = _by_id(session, Member, {r.recipient_id for r in rows if r.recipient_id is not None})
        orgs = _by_id(session, Organization, {m.organization_id for m in members.values()})
        recent = self._recent_counts(session, rows, now)
        claims: list[_Claim] = []
        settled: list[Outcome] = []
        newly_unreachable: list[Member] = []
        available = set(self.pushers)
        for row in rows:
            member = members.get(row.recipient_id) if row.recipient_id is not None else None
            name = member.name if member else "—"
            if row.relevant_until is not None and row.relevant_until <= now:
                row.status, row.last_error, row.next_attempt_at = "expired", "已过时效，未发送", None
                settled.append(Outcome(row.id, row.dedupe_key, name, row.channel, "expired", row.last_error))
                continue
            if row.status == "in_flight" and row.attempts >= self.policy.max_attempts:
                row.status, row.next_attempt_at = "failed", None
                row.last_error = f"发送中断 {row.attempts} 次后放弃；上次错误：{row.last_error or '无'}"
                settled.append(Outcome(row.id, row.dedupe_key, name, row.channel, "failed", row.last_error))
                continue
            platform, reason = self._platform_for(row, member, orgs, available)
            if platform is None:
                row.status, row.last_error, row.next_attempt_at = "failed", reason, None
                settled.append(Outcome(row.id, row.dedupe_key, name, None, "failed", reason))
                if (member is not None and member.status == "active" and row.kind != UNREACHABLE_KIND
                        and member.unreachable_reason != reason):
                    member.unreachable_reason = reason
                    newly_unreachable.append(member)
                continue
            limit = self.policy.rate_limits.get(platform)
            window_key = (platform, row.recipient_id)
            if limit is not None and recent[window_key] >= limit:
                # the platform would refuse: wait for the window to move on, without spending an attempt
                row.next_attempt_at = now + RATE_WINDOW
                settled.append(Outcome(row.id, row.dedupe_key, name, platform, "deferred", "超过每分钟推送上限"))
                continue
            try:
                reply = self.render(row)
            except Exception as err:  # one malformed row must not block the queue behind it
                log.exception("outbox row %s cannot be rendered", row.dedupe_key)
                row.status, row.next_attempt_at = "failed", None
                row.last_error = f"内容无法生成消息：{type(err).__name__}"
                settled.append(Outcome(row.id, row.dedupe_key, name, platform, "failed", row.last_error))
                continue
            recent[window_key] += 1
            row.channel = platform  # a re-send after a crash must use the same platform, or its guard cannot help
            row.status = "in_flight"
            row.attempts += 1
            row.next_attempt_at = now + self.policy.lease
            claims.append(_Claim(row.id, row.dedupe_key, row.attempts, platform,
                                 platform_account(member, platform) or "", name, reply, row.next_attempt_at))
        if newly_unreachable:
            self._note_unreachable(session, newly_unreachable, orgs, now)
        return claims, settled

    def _platform_for(self, row: OutboxMessage, member: Member | None, orgs: dict[int, Organization],
                      available: set[str]) -> tuple[str | None, str]:
        if member is None:
            return None, "收件人不在名单中"
        if member.status != "active":
            return None, "收件人已不在册"
        if row.channel in available and platform_account(member, row.channel):
            return row.channel, ""
        platform = choose_platform(member, orgs.get(member.organization_id), available)
        if platform:
            return platform, ""
        if not (member.wecom_userid or member.dingtalk_userid):
            return None, "没有企业微信或钉钉账号"
        has = "、".join(p for p, uid in (("企业微信", member.wecom_userid), ("钉钉", member.dingtalk_userid)) if uid)
        return None, f"只有{has}账号，但该平台未接入"

    def _recent_counts(self, session: Session, rows: Iterable[OutboxMessage],
                       now: datetime) -> defaultdict[tuple[str, int | None], int]:
        """Pushes per (platform, recipient) in the last minute, counted from the outbox so every dispatcher agrees."""
        counts: defaultdict[tuple[str, int | None], int] = defaultdict(int)
        ids = {r.recipient_id for r in rows if r.recipient_id is not None}
        if not ids:
            return counts
        since = now - RATE_WINDOW
        query = (select(OutboxMessage.channel, OutboxMessage.recipient_id, func.count())
                 .where(OutboxMessage.recipient_id.in_(ids), OutboxMessage.channel.is_not(None),
                        or_(and_(OutboxMessage.status == "sent", OutboxMessage.sent_at > since),
                            OutboxMessage.status == "in_flight"))
                 .group_by(OutboxMessage.channel, OutboxMessage.recipient_id))
        for channel, recipient_id, n in session.execute(query):
            counts[(channel, recipient_id)] = n
        return counts

    def _note_unreachable(self, session: Session, members: list[Member], orgs: dict[int, Organization],
                          now: datetime) -> None:
        """One note per branch to its secretary, naming the members no push could reach."""
        by_branch: dict[int, tuple[Organization, list[Member]]] = {}
        for m in members:
            org = orgs.get(m.organization_id) or session.get(Organization, m.organization_id)
            branch = branch_of(org)
            by_branch.setdefault(branch.id, (branch, []))[1].append(m)
        for branch, people in by_branch.values():
            ids = ",".join(str(m.id) for m in sorted(people, key=lambda m: m.id))
            digest = hashlib.sha1(ids.encode()).hexdigest()[:16]
            lines = [f"· {m.name}：{m.unreachable_reason}" for m in people]
            text = "\n".join([f"以下 {len(people)} 名党员收不到机器人推送：", *lines,
                              "请在名单里补上他们的企业微信或钉钉账号（zhibu roster import），或当面转告。"])
            for secretary in _branch_officers(session, branch):
                note = OutboxMessage(
                    dedupe_key=f"{UNREACHABLE_KIND}:{branch.id}:{digest}:{secretary.id}", recipient_id=secretary.id,
                    kind=UNREACHABLE_KIND, organization_id=branch.id,
                    content={"title": "有党员收不到提醒", "text": text, "kind": UNREACHABLE_KIND},
                    due_at=now, relevant_until=now + timedelta(days=7), status="pending")
                try:
                    with session.begin_nested():  # the same note planned twice is a no-op
                        session.add(note)
                except IntegrityError:
                    pass

    # ---- sending -------------------------------------------------------------------------------------------------

    def deliver(self, claim: _Claim) -> Outcome:
        if self.clock() >= claim.lease_until - self.policy.lease / 5:
            # slow platform calls ate the lease: leave the row for the next claim rather than race it
            return Outcome(claim.row_id, claim.dedupe_key, claim.recipient, claim.platform, "deferred", "租约将到期")
        pusher = self.pushers[claim.platform]
        try:
            result = pusher.push(claim.user_id, claim.reply, claim.dedupe_key)
        except Exception as err:  # a pusher bug or a network error: keep the row, retry later
            log.exception("push of %s failed", claim.dedupe_key)
            result = PushResult(ok=False, retry=True, error=f"{type(err).__name__}: {err}"[:500])
        return self.record(claim, result)

    def record(self, claim: _Claim, result: PushResult) -> Outcome:
        now = self.clock()
        held = and_(OutboxMessage.id == claim.row_id, OutboxMessage.status == "in_flight",
                    OutboxMessage.attempts == claim.attempts)
        if result.ok:
            values = {"status": "sent", "sent_at": now, "next_attempt_at": None, "last_error": None}
            status, error = "sent", ""
        elif result.retry and claim.attempts < self.policy.max_attempts:
            error = result.error or "暂时失败"
            values = {"status": "pending", "next_attempt_at": now + self.policy.backoff(claim.attempts),
                      "last_error": error}
            status = "pending"
        else:
            error = result.error or "发送失败"
            if result.retry:
                error = f"{self.policy.max_attempts} 次都失败：{error}"
            values = {"status": "failed", "next_attempt_at": None, "last_error": error}
            status = "failed"
        with transaction(self.sessions) as session:
            changed = session.execute(update(OutboxMessage).where(held).values(**values)).rowcount
            if result.ok and changed:
                session.execute(update(Member).where(
                    Member.id == select(OutboxMessage.recipient_id).where(OutboxMessage.id == claim.row_id)
                    .scalar_subquery(), Member.unreachable_reason.is_not(None)).values(unreachable_reason=None))
        if not changed:
            # our lease ran out and another claim took the row over; it carries the same key, so no double push
            log.warning("outbox row %s was taken over before its result was recorded", claim.dedupe_key)
            return Outcome(claim.row_id, claim.dedupe_key, claim.recipient, claim.platform, "lost", error)
        return Outcome(claim.row_id, claim.dedupe_key, claim.recipient, claim.platform, status, error)


def _by_id(session: Session, model, ids: set[int]) -> dict:
    if not ids:
        return {}
    return {obj.id: obj for obj in session.scalars(select(model).where(model.id.in_(ids)))}


def _branch_officers(session: Session, branch: Organization) -> list[Member]:
    for role in NOTIFY_ROLES:
        people = list(session.scalars(select(Member).join(Role, Role.member_id == Member.id).where(
            Role.organization_id == branch.id, Role.role == role, Member.status == "active")))
        if people:
            return people
    return []


def dispatcher_for(sessions: sessionmaker[Session], services, policy: DispatchPolicy | None = None) -> Dispatcher:
    """The dispatcher a process uses: its runtime's pushers and clock, and letter links under ZHIBU_PUBLIC_URL."""
    settings = services.settings
    return Dispatcher(sessions, services.pushers, services.clock, policy,
                      render=letter_renderer(settings.public_url, settings.secret_key, settings.tz))
