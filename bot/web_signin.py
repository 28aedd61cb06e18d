"""Scan to sign in: the projector page (签到大屏), its rotating QR, and the page a member's phone opens.

    GET /signin/screen/<token>             the projector page (a signed link 发起签到 gives the secretary)
    GET /signin/screen/<token>/state.json  what the page polls: count, names, participation, the current QR slot
    GET /signin/screen/<token>/qr.svg      the QR of one 30-second slot
    GET /signin/s/<token>                  what the QR encodes: inside a chat app that can say who the member is
                                           → its login page → signed in; elsewhere, the code to send
    GET /signin/<platform>/callback        the chat app's login redirect back: who it is, sign in, confirm

The rules (once per member, branch, window) are storage/signin.py's, the same as for 签到 4827.
"""
from __future__ import annotations

import io
from datetime import datetime

from flask import Blueprint, Response, jsonify, redirect, render_template, request
from sqlalchemy.orm import Session

from bot.channels import app_opened_in
from bot.identity import Identity, IdentityError
from bot.runtime import Runtime
from bot.signin_links import (
    ROTATE_SECONDS,
    SCAN,
    SCREEN,
    STATE,
    current_slot,
    meeting_of,
    scan_token,
    scan_url,
    slot_start,
    state_token,
)
from bot.signing import BadToken, ExpiredToken, MalformedToken
from handlers.checkin import outcome_text, refusal_text
from handlers.meetings import show_hm, show_time
from storage import attendance as att
from storage import signin
from storage.meetings import label, meeting_summary
from storage.members import find_by_platform_id
from storage.models import Meeting, Organization
from storage.org_settings import get_setting

POLL_SECONDS = 2
NO_STORE = {"Cache-Control": "no-store"}


def qr_svg(data: str) -> str:
    import qrcode
    import qrcode.image.svg

    # white background included: a projector in a dark room, a phone camera, and no Pillow
    img = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathFillImage, border=2,
                      error_correction=qrcode.constants.ERROR_CORRECT_M)
    out = io.BytesIO()
    img.save(out)
    return out.getvalue().decode()


def refused(err: BadToken) -> int:
    """403 for a token that is not ours (forged, damaged, another purpose); 400 for one signed with our key whose
    content is not a meeting's."""
    return 400 if isinstance(err, MalformedToken) else 403


def _page(status: int, title: str, lines: list[str], *, ok: bool = False, code: str | None = None) -> Response:
    html = render_template("signin_result.html", title=title, lines=lines, ok=ok, code=code)
    return Response(html, status=status, mimetype="text/html", headers=NO_STORE)


def signin_blueprint(runtime: Runtime) -> Blueprint:
    settings = runtime.settings
    tz = settings.tz
    identities = runtime.identities  # registered by the channels as the app mounts them (bot.identity)
    bp = Blueprint("signin", __name__, template_folder="templates")

    def now() -> datetime:
        return runtime.services.clock()

    def bad_screen_link(err: Exception) -> Response:
        if isinstance(err, ExpiredToken):
            return _page(410, "大屏链接已过期", ["请在机器人里重新发送「发起签到」获取新的链接。"])
        return _page(refused(err), "大屏链接无效", ["请从机器人回复的「发起签到」消息里打开。"])

    # the projector -------------------------------------------------------------------------------------------
    @bp.get("/signin/screen/<token>")
    def screen(token: str):
        try:
            meeting_id = meeting_of(settings, SCREEN, token, now())
        except (BadToken, ExpiredToken) as err:
            return bad_screen_link(err)
        with runtime.reading() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None:
                return _page(404, "会议已不存在", ["请在机器人里重新发起签到。"])
            facts = meeting_facts(meeting)
        return Response(render_template("signin_screen.html", meeting=facts, poll_ms=POLL_SECONDS * 1000),
                        mimetype="text/html", headers=NO_STORE)

    @bp.get("/signin/screen/<token>/state.json")
    def screen_state(token: str):
        at = now()
        try:
            meeting_id = meeting_of(settings, SCREEN, token, at)
        except ExpiredToken:
            return jsonify(error="大屏链接已过期"), 403
        except BadToken as err:
            return jsonify(error="大屏链接无效"), refused(err)
        with runtime.reading() as session:  # polled by every projector: never behind the sign-ins' write lock
            meeting = session.get(Meeting, meeting_id)
            if meeting is None:
                return jsonify(error="会议已不存在"), 404
            state = live_state(session, meeting, at)
        return jsonify(state), 200, NO_STORE

    @bp.get("/signin/screen/<token>/qr.svg")
    def screen_qr(token: str):
        at = now()
        try:
            slot = int(request.args.get("slot", current_slot(at)))
        except ValueError:
            return Response("slot", status=400)
        # only the current slot, or the previous one while a page is catching up: never a future token
        if slot not in (current_slot(at), current_slot(at) - 1):
            return Response("这个二维码已过期", status=410, mimetype="text/plain")
        try:
            meeting_id = meeting_of(settings, SCREEN, token, at)
        except ExpiredToken:
            return Response("大屏链接无效", status=403, mimetype="text/plain")
        except BadToken as err:
            return Response("大屏链接无效", status=refused(err), mimetype="text/plain")
        with runtime.reading() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None or not signin.is_live(meeting, at):
                return Response("签到已结束", status=410, mimetype="text/plain")
        svg = qr_svg(scan_url(settings, scan_token(settings, meeting_id, slot)))
        return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": f"private, max-age={ROTATE_SECONDS}"})

    def meeting_facts(meeting: Meeting) -> dict:
        host: Organization = meeting.organization
        return {"label": label(meeting), "host": host.name, "time": show_time(meeting.starts_at, tz),
                "place": meeting.place or "", "code": meeting.code or ""}

    def live_state(session: Session, meeting: Meeting, at: datetime) -> dict:
        summary = meeting_summary(session, meeting)
        many_orgs = len({m.organization_id for m in summary.expected}) > 1
        came = sorted(summary.present + summary.late, key=lambda m: (summary.rows[m.id].at, m.id))
        threshold = get_setting(meeting.organization, "participation_threshold")
        live = signin.is_live(meeting, at)
        slot = current_slot(at)
        return {
            **meeting_facts(meeting),
            "live": live,
            "ends": show_hm(meeting.signin_closes_at, tz),
            "expected": len(summary.expected),
            "attended": summary.attended,
            "late": len(summary.late),
            "leave": len(summary.leave),
            "rate": att.percent_text(summary.participation),
            "below": summary.below(threshold),
            "names": [{"name": m.name, "org": m.organization.name if many_orgs else "",
                       "at": show_hm(summary.rows[m.id].at, tz),
                       "late": summary.rows[m.id].status == att.LATE} for m in came],
            "slot": slot if live else None,
            "qr": f"qr.svg?slot={slot}" if live else None,
            "rotates_in": round((slot_start(slot + 1) - at).total_seconds()) if live else None,
        }

    # the member's phone --------------------------------------------------------------------------------------
    @bp.get("/signin/s/<token>")
    def scan(token: str):
        at = now()
        try:
            meeting_id = meeting_of(settings, SCAN, token, at)
        except ExpiredToken:
            return _page(410, "二维码已过期", ["二维码每30秒更新一次，请重新扫描会议室大屏上的二维码；",
                                          "或在企业微信/钉钉里给支部助手发送“签到”加大屏上的4位签到码。"])
        except BadToken as err:
            return _page(refused(err), "二维码无效", ["请扫描会议室大屏上的二维码；",
                                        "或在企业微信/钉钉里给支部助手发送“签到”加书记公布的4位签到码。"])
        with runtime.reading() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None or not signin.is_live(meeting, at):
                return _page(410, "签到已结束", ["这次会议的签到已经结束。如确实参加了会议，请联系书记补签。"])
            code, what = meeting.code, label(meeting)
        agent = request.headers.get("User-Agent", "")
        identity = next((i for i in identities.values() if i.opened_in(agent)), None)
        if identity is not None:
            redirect_uri = f"{settings.public_url.rstrip('/')}/signin/{identity.platform}/callback"
            return redirect(identity.login_url(redirect_uri, state_token(settings, meeting_id, at)), code=302)
        app_name = app_opened_in(agent)
        lines = [f"会议：{what}", f"请在{app_name or '企业微信或钉钉'}里给支部助手发送：签到 {code}"]
        if app_name is None:  # a plain browser: the chat apps that sign in at one scan
            lines += [f"用{i.app_name}扫码可一步完成签到。" for i in identities.values()]
        return _page(200, "发送签到码完成签到", lines, code=code)

    @bp.get("/signin/<platform>/callback")
    def login_callback(platform: str):
        at = now()
        try:
            meeting_id = meeting_of(settings, STATE, request.args.get("state", ""), at)
        except ExpiredToken:
            return _page(410, "等待超时", ["请重新扫描会议室大屏上的二维码。"])
        except BadToken as err:
            return _page(refused(err), "链接无效", ["请扫描会议室大屏上的二维码签到。"])
        identity: Identity | None = identities.get(platform)
        if identity is None:
            return _page(503, "暂不能扫码签到", ["扫码签到没有接入，请给支部助手发送“签到”加4位签到码。"])
        code = request.args.get("code", "")
        if not code:  # no code when the member declined or the app may not see them
            return _page(403, "未能确认身份", [f"请在{identity.app_name}里扫码，或给支部助手发送“签到”加4位签到码。"])
        try:
            user_id = identity.identify(code)
        except IdentityError as err:
            tail = "请重新扫描大屏上的二维码。" if err.retry else "请联系支部书记。"
            return _page(403 if not err.retry else 502, "未能确认身份", [f"{err}。", tail])
        with runtime.transaction() as session:
            meeting = session.get(Meeting, meeting_id)
            member = find_by_platform_id(session, identity.platform, user_id)
            if meeting is None:
                return _page(410, "签到已结束", ["这次会议已不存在。"])
            if member is None:
                return _page(403, "不在党员名单中", [f"支部助手的名单里没有你的{identity.app_name}账号。",
                                               "请联系支部书记核对。"])
            try:
                done = signin.sign_in(session, meeting, member, at, via="qr")
            except signin.SignInRefused as err:
                return _page(409, "未签到", [refusal_text(err, member, tz)])
            if member.last_platform != identity.platform:
                member.last_platform = identity.platform
            text = outcome_text(member, meeting, done, tz)
            title = "已签到" if done.new else "已签过到"
            late = done.new and done.status == att.LATE
            return _page(200, title + ("（迟到）" if late else ""), text.split("\n"), ok=True)

    return bp
