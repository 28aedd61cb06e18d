"""管理后台: the read-only web console of the 党委 and the 书记.

    GET  /console/login/<token>         the one-time link 管理后台 sends in chat: starts a session (8 hours)
    GET  /console                       the overview: the branches in the person's scope, 红/黄/绿 and every measure
                                        (?status=红 ?parent=<id> filter, ?sort=<column>&desc=1 sorts)
    GET  /console/branch/<id>           one branch: the checkup, the 规范化自查, meetings and attendance, committee,
                                        reminders
    GET  /console/export.xlsx           the overview as a spreadsheet
    GET  /console/<platform>/callback   inside a chat app that can name the person (WeCom): its login comes back here
    POST /console/logout                ends the session

Every page is scoped to the branches the signed-in person may see (handlers.oversight.branch_scope, the scope of
支部概况); a branch outside it is 404 like one that does not exist. The roles are read again on every request, so a
person who loses the role loses the console with it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from flask import Blueprint, Response, abort, redirect, render_template, request
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.console_links import (
    LOGIN_LIFE,
    SESSION_LIFE,
    check_state,
    read_login,
    session_member,
    session_token,
    state_token,
)
from bot.identity import IdentityError
from bot.roles import RoleSet
from bot.runtime import Runtime
from bot.signing import BadToken, ExpiredToken
from handlers.meetings import show_time
from handlers.oversight import branch_scope, checkup_lines, scope_roots
from handlers.overview_rows import PERIODS, branch_row
from reminders.oversight_rules import GREEN, RED, YELLOW
from reminders.oversight_state import OrgNode, load_checkups, load_tree
from reminders.overview_export import export_overview
from reminders.overview_periods import overview_filename, parse_export_period
from reminders.selfcheck_rules import PASS, BranchSelfCheck
from reminders.selfcheck_standard import StandardError
from reminders.selfcheck_state import selfcheck_for
from storage.audit import record_audit
from storage.db import insert_unless_present
from storage.meetings import label
from storage.members import find_by_platform_id
from storage.models import Attendance, CommitteeTerm, ConsoleLogin, Meeting, Member, OutboxMessage, Role

log = logging.getLogger(__name__)
COOKIE = "zhibu_console"
NO_STORE = {"Cache-Control": "private, no-store"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEETINGS_SHOWN = 30
REMINDERS_SHOWN = 20
# the overview's sortable columns: ?sort=<key>; each sorts by a value that is never None
SORTS = {
    "name": lambda r: r["name"], "parent": lambda r: r["parent"], "status": lambda r: r["status_order"],
    "participation": lambda r: -1 if r["participation"] is None else r["participation"],
    "quiet": lambda r: 10**6 if r["quiet_days"] is None else r["quiet_days"],
    "term": lambda r: r["term_end"].isoformat() if r["term_end"] else "",
    "dues_3": lambda r: r["dues_3"], "dues_6": lambda r: r["dues_6"],
    "probation": lambda r: (r["probation_over"], r["probation_soon"]),
    **{key: (lambda k: lambda r: r["missing"][k])(key) for key, _h, _k in PERIODS},
}


@dataclass(frozen=True)
class Viewer:
    """The signed-in person and the branches they may see."""

    member_id: int
    name: str
    scope: tuple[int, ...]
    tree: dict[int, OrgNode]
    roots: tuple[int, ...]  # the organisations the scope hangs from (for the export's name)


def console_blueprint(runtime: Runtime) -> Blueprint:
    settings = runtime.settings
    tz = settings.tz
    secure = settings.public_url.lower().startswith("https://")
    identities = runtime.identities  # registered by the channels as the app mounts them (bot.identity)
    bp = Blueprint("console", __name__, template_folder="templates")

    def now() -> datetime:
        return runtime.services.clock()

    def page(status: int, title: str, lines: list[str], *, viewer: Viewer | None = None) -> Response:
        html = render_template("console_message.html", title=title, lines=lines, viewer=viewer)
        return Response(html, status=status, mimetype="text/html", headers=NO_STORE)

    def viewer_of(session: Session, member_id: int) -> Viewer | None:
        member = session.get(Member, member_id)
        if member is None or member.status != "active":
            return None
        tree = load_tree(session)
        roles = RoleSet.of_member(member)
        scope = branch_scope(roles, tree)
        return Viewer(member.id, member.name, tuple(scope), tree, tuple(scope_roots(roles, tree))) if scope else None

    def signed_in(session: Session) -> Viewer | None:
        token = request.cookies.get(COOKIE, "")
        if not token:
            return None
        try:
            return viewer_of(session, session_member(settings, token, now()))
        except (BadToken, ExpiredToken):
            return None

    def start_session(member_id: int) -> Response:
        resp = redirect("/console", code=303)
        resp.set_cookie(COOKIE, session_token(settings, member_id, now()), max_age=int(SESSION_LIFE.total_seconds()),
                        path="/console", httponly=True, secure=secure, samesite="Lax")
        resp.headers.update(NO_STORE)
        return resp

    def not_signed_in() -> Response:
        """Inside a chat app that can name the person, sign in through it; elsewhere, say how to get a link."""
        agent = request.headers.get("User-Agent", "")
        identity = next((i for i in identities.values() if i.opened_in(agent)), None)
        if identity is not None:
            callback = f"{settings.public_url.rstrip('/')}/console/{identity.platform}/callback"
            return redirect(identity.login_url(callback, state_token(settings, now())), code=302)
        resp = page(200, "请先登录", ["管理后台只给上级管理员和支部书记使用。",
                                    "请在企业微信或钉钉里给支部助手发送“管理后台”，点开回复里的链接即可登录。"])
        resp.delete_cookie(COOKIE, path="/console")
        return resp

    # signing in ----------------------------------------------------------------------------------------------
    @bp.get("/console/login/<token>")
    def login(token: str):
        at = now()
        try:
            link = read_login(settings, token, at)
        except ExpiredToken:
            return page(410, "登录链接已过期", ["登录链接10分钟内有效。请在聊天里再发一次“管理后台”。"])
        except BadToken:
            return page(403, "登录链接无效", ["请从支部助手回复的“管理后台”消息里打开链接。"])
        if request.method == "HEAD":  # a link checker peeking at the link must not use it up
            return Response(status=200, headers=NO_STORE)
        with runtime.transaction() as session:
            # a used link's record is needed only while the link is valid: older ones go as new ones come
            session.execute(delete(ConsoleLogin).where(ConsoleLogin.used_at < at - LOGIN_LIFE))
            if viewer_of(session, link.member_id) is None:
                return page(403, "不能登录管理后台", ["这个链接的申请人已不是上级管理员或支部书记。"])
            first = session.execute(insert_unless_present(ConsoleLogin.__table__, ["token_id"],
                                                          session.get_bind().dialect.name)
                                    .values(token_id=link.token_id, member_id=link.member_id, used_at=at)
                                    .returning(ConsoleLogin.id)).scalar()
            if first is not None:
                record_audit(session, "console.login", None, actor=session.get(Member, link.member_id),
                             detail={"via": "link"}, at=at)
        if first is None:
            return page(410, "登录链接已用过", ["每个登录链接只能用一次。请在聊天里再发一次“管理后台”获取新链接。"])
        return start_session(link.member_id)

    @bp.get("/console/<platform>/callback")
    def login_callback(platform: str):
        identity = identities.get(platform)
        if identity is None:
            abort(404)
        try:
            check_state(settings, request.args.get("state", ""), now())
        except (BadToken, ExpiredToken):
            return page(403, "登录没有完成", [f"请在{identity.app_name}里重新打开管理后台。"])
        code = request.args.get("code", "")
        if not code:
            return page(403, "未能确认身份", [f"请在{identity.app_name}里打开，或在聊天里发送“管理后台”获取登录链接。"])
        try:
            user_id = identity.identify(code)
        except IdentityError as err:
            return page(502 if err.retry else 403, "未能确认身份", [f"{err}。", "请在聊天里发送“管理后台”获取登录链接。"])
        with runtime.transaction() as session:
            member = find_by_platform_id(session, identity.platform, user_id)
            viewer = viewer_of(session, member.id) if member is not None else None
            if viewer is not None:
                record_audit(session, "console.login", None, actor=member, detail={"via": identity.platform},
                             at=now())
        if viewer is None:
            return page(403, "不能登录管理后台", ["管理后台只给上级管理员和支部书记使用。"])
        return start_session(viewer.member_id)

    @bp.post("/console/logout")
    def logout():
        resp = page(200, "已退出管理后台", ["需要时请在聊天里再发送“管理后台”获取登录链接。"])
        resp.delete_cookie(COOKIE, path="/console", httponly=True, secure=secure, samesite="Lax")
        return resp

    # pages ---------------------------------------------------------------------------------------------------
    def overview_rows(session: Session, viewer: Viewer) -> tuple[list[dict], datetime]:
        at = now().astimezone(tz)
        checkups = load_checkups(session, at.date(), viewer.scope, tz, viewer.tree)
        return [branch_row(c, viewer.tree, at.date()) for c in checkups], at

    @bp.get("/console")
    def overview():
        with runtime.reading() as session:
            viewer = signed_in(session)
            if viewer is None:
                return not_signed_in()
            rows, at = overview_rows(session, viewer)
        parents = sorted({(r["parent_id"], r["parent"]) for r in rows if r["parent_id"] is not None},
                         key=lambda p: p[1])
        status = request.args.get("status", "")
        parent = request.args.get("parent", "")
        shown = [r for r in rows if (status not in (RED, YELLOW, GREEN) or r["status"] == status)
                 and (not parent.isdigit() or str(r["parent_id"]) == parent)]
        sort = request.args.get("sort", "")
        desc = request.args.get("desc") == "1"
        if sort in SORTS:
            shown.sort(key=SORTS[sort], reverse=desc)
        counts = {c: sum(1 for r in rows if r["status"] == c) for c in (RED, YELLOW, GREEN)}
        html = render_template("console_overview.html", viewer=viewer, rows=shown, total=len(rows), counts=counts,
                               parents=parents, status=status, parent=parent, sort=sort, desc=desc,
                               periods=PERIODS, today=at.date())
        return Response(html, mimetype="text/html", headers=NO_STORE)

    @bp.get("/console/export.xlsx")
    def export():
        """The same workbook 导出概况 sends in chat, for the period chosen on the overview (default: this year, with
        its quarters and months)."""
        at = now().astimezone(tz)
        try:
            period = parse_export_period(request.args.get("period", "今年"), at.date())
        except ValueError as err:
            return page(404, "导出期间不对", [str(err)])
        with runtime.reading() as session:
            viewer = signed_in(session)
            if viewer is None:
                return not_signed_in()
            body = export_overview(session, viewer.scope, period, at.date(), tz, viewer.tree)
            roots = [(viewer.tree[r].name, viewer.tree[r].type) for r in viewer.roots]
        filename = overview_filename(roots, period)
        headers = {**NO_STORE, "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
        return Response(body, mimetype=XLSX, headers=headers)

    @bp.get("/console/branch/<int:org_id>")
    def branch(org_id: int):
        with runtime.reading() as session:
            viewer = signed_in(session)
            if viewer is None:
                return not_signed_in()
            if org_id not in viewer.scope:  # another subtree's branch is "not found", like one that does not exist
                return page(404, "找不到这个支部", ["这个支部不存在，或不在你管辖的范围内。", "请从支部概况里点支部名称进入。"],
                            viewer=viewer)
            at = now().astimezone(tz)
            c = load_checkups(session, at.date(), [org_id], tz, viewer.tree)[0]
            facts = {
                "row": branch_row(c, viewer.tree, at.date()),
                "checkup": [line.removeprefix("· ") for line in checkup_lines(c)[1:]],
                "selfcheck": (check := selfcheck_of(session, org_id, at, viewer)),
                "passed": [f for f in check.findings if f.status == PASS] if check else [],
                "meetings": meetings_of(session, org_id),
                "committee": committee_of(session, org_id),
                "term": session.scalars(select(CommitteeTerm).where(CommitteeTerm.organization_id == org_id)
                                        .order_by(CommitteeTerm.elected_on.desc()).limit(1)).first(),
                "pending": reminders_of(session, org_id, sent=False),
                "sent": reminders_of(session, org_id, sent=True),
            }
        html = render_template("console_branch.html", viewer=viewer, today=at.date(), **facts)
        return Response(html, mimetype="text/html", headers=NO_STORE)

    def selfcheck_of(session: Session, org_id: int, at: datetime, viewer: Viewer) -> BranchSelfCheck | None:
        """The 规范化自查 against the standard file as it is now; None (the page says so) when that file is broken."""
        try:
            return selfcheck_for(session, [org_id], at.date(), tz, None, viewer.tree)[0]
        except StandardError as err:
            log.error("self-check standard unusable: %s", err.problems[0])
            return None

    def meetings_of(session: Session, org_id: int) -> list[dict]:
        """The latest meetings hosted, with attendance counts: one query for the meetings, one for the counts."""
        meetings = session.scalars(select(Meeting).where(Meeting.organization_id == org_id)
                                   .order_by(Meeting.starts_at.desc()).limit(MEETINGS_SHOWN)).all()
        counts: dict[int, dict[str, int]] = {m.id: {} for m in meetings}
        if meetings:
            for meeting_id, status, n in session.execute(
                    select(Attendance.meeting_id, Attendance.status, func.count())
                    .where(Attendance.meeting_id.in_(list(counts))).group_by(Attendance.meeting_id, Attendance.status)):
                counts[meeting_id][status] = n
        return [{"label": label(m), "time": show_time(m.starts_at, tz), "date": m.starts_at.astimezone(tz).date(),
                 "place": m.place or "", "attended": counts[m.id].get("present", 0) + counts[m.id].get("late", 0),
                 "late": counts[m.id].get("late", 0), "leave": counts[m.id].get("leave", 0),
                 "absent": counts[m.id].get("absent", 0)} for m in meetings]

    def committee_of(session: Session, org_id: int) -> list[tuple[str, str]]:
        rows = session.execute(select(Member.name, Role.role).join(Role, Role.member_id == Member.id)
                               .where(Role.organization_id == org_id, Member.status == "active")
                               .order_by(Role.id)).all()
        return [(name, role) for name, role in rows]

    def reminders_of(session: Session, org_id: int, *, sent: bool) -> list[dict]:
        """The branch's reminders in the outbox: those still to go (soonest first) or those sent (latest first)."""
        stmt = (select(OutboxMessage, Member.name).outerjoin(Member, Member.id == OutboxMessage.recipient_id)
                .where(OutboxMessage.organization_id == org_id))
        if sent:
            stmt = stmt.where(OutboxMessage.status == "sent").order_by(OutboxMessage.sent_at.desc())
        else:
            stmt = stmt.where(OutboxMessage.status.in_(("pending", "in_flight"))).order_by(OutboxMessage.due_at)
        out = []
        for row, name in session.execute(stmt.limit(REMINDERS_SHOWN)):
            content = row.content if isinstance(row.content, dict) else {}
            text = str(content.get("title") or content.get("text") or row.kind)
            at = row.sent_at if sent and row.sent_at else row.due_at
            out.append({"to": name or "—", "text": text.splitlines()[0][:60] if text else row.kind,
                        "at": show_time(at, tz)})
        return out

    return bp
