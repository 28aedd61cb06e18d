"""Looking members up: by platform account, by name within what a secretary may see."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from storage.models import Member

ACTIVE = "active"

# built once: every message looks its speaker up, and building a statement costs more than running it
_BY_COLUMN = {
    name: select(Member).where(column == bindparam("user_id"), Member.status == ACTIVE)
    for name, column in (("wecom", Member.wecom_userid), ("dingtalk", Member.dingtalk_userid))
}


def find_by_platform_id(session: Session, platform: str, user_id: str) -> Member | None:
    """WeCom and DingTalk look in their own column; the console tries the WeCom account, then the DingTalk one."""
    columns = {"wecom": ("wecom",), "dingtalk": ("dingtalk",), "console": ("wecom", "dingtalk")}.get(platform, ())
    for column in columns:
        member = session.scalars(_BY_COLUMN[column], {"user_id": user_id}).first()
        if member is not None:
            return member
    return None
