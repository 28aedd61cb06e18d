"""outbox: one (status, due_at) index instead of four single-column ones

Planning writes up to hundreds of thousands of outbox rows a day and each row updates every index. The dispatcher's
claim filters by status and orders by due_at; nothing queries by kind or organization_id. recipient_id keeps its
index (the per-member rate count), dedupe_key its unique one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

"""
from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = ("due_at", "kind", "organization_id", "status")


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        for column in DROPPED:
            batch_op.drop_index(f"ix_outbox_{column}")
        batch_op.create_index("ix_outbox_status_due_at", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_due_at")
        for column in DROPPED:
            batch_op.create_index(f"ix_outbox_{column}", [column], unique=False)
