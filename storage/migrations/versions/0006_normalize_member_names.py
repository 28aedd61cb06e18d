"""members.name: the names already stored, normalised as the roster import now stores them

`钱　进` and `曹 操` were stored as typed, and `补签 钱进` found nobody. The import now normalises names
(storage.names.normalize_name); this brings the rows already there into the same form. The rule is copied here as it
stands today, so that this revision means the same thing whatever later becomes of the module.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

"""
import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_DOT = re.compile(r"(?<=[\u3400-\u9fff])\s*[·・•‧∙⋅.．]\s*(?=[\u3400-\u9fff])")
_GAP = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff·]")


def normalize_name(name: str | None) -> str:
    t = _INVISIBLE.sub("", unicodedata.normalize("NFKC", name or "")).strip()
    t = _DOT.sub("·", t)
    parts = _GAP.split(t)
    out = parts[0] if parts else ""
    for part in parts[1:]:
        joined = not part or not out or _CJK.match(part[0]) or _CJK.match(out[-1])
        out += part if joined else " " + part
    return out


members = sa.table("members", sa.column("id", sa.Integer), sa.column("name", sa.String))


def upgrade() -> None:
    conn = op.get_bind()
    changed = [{"row_id": row.id, "new_name": normalize_name(row.name)}
               for row in conn.execute(sa.select(members.c.id, members.c.name))
               if normalize_name(row.name) != row.name]
    if changed:
        conn.execute(members.update().where(members.c.id == sa.bindparam("row_id"))
                     .values(name=sa.bindparam("new_name")), changed)


def downgrade() -> None:
    """The names as typed are not kept: nothing to undo."""
