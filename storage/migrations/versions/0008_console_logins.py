"""console_logins: the 管理后台 sign-in links already used, so each works once

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-06

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_logins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.String(length=40), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_console_logins_member_id_members"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_logins")),
        sa.UniqueConstraint("token_id", name=op.f("uq_console_logins_token_id")),
    )
    with op.batch_alter_table("console_logins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_logins_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_console_logins_used_at"), ["used_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("console_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_logins_used_at"))
        batch_op.drop_index(batch_op.f("ix_console_logins_member_id"))
    op.drop_table("console_logins")
