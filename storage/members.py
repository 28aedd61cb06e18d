"""Looking members up: by platform account, by name within what a secretary may see."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from storage.models import Member

ACTIVE = "active"

ACCOUNT_COLUMNS = {"wecom": Member.wecom_userid, "dingtalk": Member.dingtalk_userid}
# where each platform's accounts are looked up: the console tries the WeCom account, then the DingTalk one
PLATFORM_ACCOUNTS = {"wecom": ("wecom",), "dingtalk": ("dingtalk",), "console": ("wecom", "dingtalk")}

# with the member's roles in the same query: every message checks them
_BY_COLUMN = {name: select(Member).options(joinedload(Member.roles))
              .where(column == bindparam("user_id"), Member.status == ACTIVE)
              for name, column in ACCOUNT_COLUMNS.items()}


def find_by_platform_id(session: Session, platform: str, user_id: str) -> Member | None:
    for column in PLATFORM_ACCOUNTS.get(platform, ()):
        member = session.scalars(_BY_COLUMN[column], {"user_id": user_id}).unique().first()
        if member is not None:
            return member
    return None
