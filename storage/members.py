"""Looking members up: by platform account, by name within what a secretary may see."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Member

ACTIVE = "active"


def find_by_platform_id(session: Session, platform: str, user_id: str) -> Member | None:
    """WeCom and DingTalk look in their own column; the console tries the WeCom account, then the DingTalk one."""
    columns = {
        "wecom": (Member.wecom_userid,),
        "dingtalk": (Member.dingtalk_userid,),
        "console": (Member.wecom_userid, Member.dingtalk_userid),
    }.get(platform, ())
    for column in columns:
        member = session.scalars(select(Member).where(column == user_id, Member.status == ACTIVE)).first()
        if member is not None:
            return member
    return None


def platform_userid(member: Member) -> str | None:
    """The id a person is known by in output: the WeCom account, else the DingTalk one."""
    return member.wecom_userid or member.dingtalk_userid
