"""A sign-in burst through the WeCom callback: one branch of N members, each sending `签到 CODE` twice.

Used by bench_signin_burst (1,000 members, timed) and tests/test_signin_burst.py (100 members, correctness only).
The two sends of a member carry distinct MsgIds (a real double tap, not a WeCom retry) and sit next to each other in
the schedule, so they reach the server on two connections at nearly the same moment and often two workers.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, select

from benchmarks.loopback import AGENT_ID, CORP_ID, Answer, Request, post
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Attendance, Meeting, Member, Organization, Role

BRANCH = "压测党支部"
SECRETARY = "burst-shuji"
SIGNED = "签到成功"
REPEAT = "无需重复签到"


def seed_branch(url: str, members: int) -> list[str]:
    """Migrate, then one 党支部 with a 书记 and `members` members (bulk inserts); returns their WeCom ids."""
    upgrade(url)
    engine = make_engine(url)
    uids = [f"burst-{i:04d}" for i in range(members)]
    try:
        with engine.begin() as conn:
            org_id = conn.execute(insert(Organization).values(name=BRANCH, type="党支部", settings={})
                                  .returning(Organization.id)).scalar_one()
            rows = [{"name": f"党员{i:04d}", "wecom_userid": uid, "organization_id": org_id, "category": "正式",
                     "joined_on": date(2000, 7, 1), "full_member_on": date(2001, 7, 1), "status": "active"}
                    for i, uid in enumerate([SECRETARY, *uids])]
            conn.execute(insert(Member), rows)
            shuji = conn.scalar(select(Member.id).where(Member.wecom_userid == SECRETARY))
            conn.execute(insert(Role).values(member_id=shuji, organization_id=org_id, role="书记"))
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return uids


def open_meeting(client, port: int) -> str:
    """The 书记 sends 发起签到 主题党日 through the callback; returns the code from the reply."""
    import re

    query, body = client.encrypt_envelope(client.text_xml(SECRETARY, "发起签到 主题党日"))
    status, data = post(port, "/wecom/callback", (query, body.encode()))
    text = client.open_reply(data).content if status == 200 and data else ""
    found = re.search(r"签到码：(\d{4})", text)
    if not found:
        raise RuntimeError(f"no sign-in code in the reply: {status} {text!r}")
    return found.group(1)


def burst_requests(client, uids: list[str], code: str) -> list[Request]:
    """Two encrypted `签到 CODE` per member, each with its own MsgId, the pair adjacent in the schedule."""
    out = []
    for uid in uids:
        for _ in range(2):
            query, body = client.encrypt_envelope(client.text_xml(uid, f"签到 {code}"))
            out.append((query, body.encode()))
    return out


@dataclass
class Outcome:
    members: int
    rows: int  # attendance rows for the meeting
    lost: int  # members without a row
    duplicate_rows: int  # rows beyond one per member
    double_success: int  # members told 签到成功 twice
    unanswered: int  # requests answered with an error, or with nothing and no pushed reply, or an unexpected text
    pushed_late: int  # requests acknowledged empty (handler over the channel's timeout) whose reply was pushed
    slow: int  # replies later than 1 s after their scheduled moment
    sent_within: float  # seconds from the start until the last request actually went out
    unexpected: list[str]  # a few of the unexpected reply texts, for the report

    @property
    def correct(self) -> bool:
        return (self.rows == self.members and not self.lost and not self.duplicate_rows and not self.double_success
                and not self.unanswered)


def outcome(client, url: str, code: str, uids: list[str], answers: list[Answer | None],
            pushed: dict[str, list[str]] | None = None) -> Outcome:
    """Counts from the database and from every reply (each member: one 签到成功, one 无需重复签到). A request
    acknowledged with an empty 200 (the callback's timeout) counts as answered by a reply pushed to that member
    (`pushed`: texts the fake WeCom API delivered, by member)."""
    late = {uid: list(texts) for uid, texts in (pushed or {}).items()}
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            meeting_id = session.scalar(select(Meeting.id).where(Meeting.code == code).order_by(Meeting.id.desc()))
            # the burst's members only: the 书记 who opened the sign-in has a row of their own
            burst = (Attendance.meeting_id == meeting_id, Member.wecom_userid.in_(uids))
            rows = session.scalar(select(func.count()).select_from(Attendance)
                                  .join(Member, Attendance.member_id == Member.id).where(*burst))
            signed = set(session.scalars(select(Member.wecom_userid).join(Attendance,
                                                                           Attendance.member_id == Member.id)
                                         .where(*burst)))
    finally:
        engine.dispose()
    successes: Counter[str] = Counter()
    unanswered, pushed_late, unexpected = 0, 0, []
    for i, answer in enumerate(answers):
        uid = uids[i // 2]
        text = ""
        if answer is not None and answer.status == 200 and answer.body:
            text = client.open_reply(answer.body).content
        elif answer is not None and answer.status == 200 and late.get(uid):
            text = late[uid].pop(0)
            pushed_late += 1
        if SIGNED in text:
            successes[uid] += 1
        elif REPEAT not in text:
            unanswered += 1
            if len(unexpected) < 5:
                unexpected.append(f"{answer.status if answer else '-'} {text[:60]!r}")
    return Outcome(members=len(uids), rows=rows, lost=len(set(uids) - signed), duplicate_rows=rows - len(signed),
                   double_success=sum(1 for n in successes.values() if n > 1), unanswered=unanswered,
                   pushed_late=pushed_late,
                   slow=sum(1 for a in answers if a is None or a.latency > 1.0),
                   sent_within=max((a.sent_at for a in answers if a is not None), default=0.0),
                   unexpected=unexpected)


def fake_wecom_api():
    """The fake WeCom API the server pushes late replies to (tests/fakes/wecom_server.py), matching wecom_env."""
    from tests.fakes.wecom_server import FakeWecomServer

    return FakeWecomServer(corp_id=CORP_ID, secret="unused", agent_id=AGENT_ID)


def pushed_texts(fake) -> dict[str, list[str]]:
    with fake._lock:
        return {uid: [d.content for d in seen] for uid, seen in fake.inbox.items()}
