"""development_records and development_milestones: 发展党员, one record per person, one row per dated milestone

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('development_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('birth_on', sa.Date(), nullable=True),
    sa.Column('mobile', sa.String(length=20), nullable=True),
    sa.Column('wecom_userid', sa.String(length=64), nullable=True),
    sa.Column('dingtalk_userid', sa.String(length=64), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_development_records_member_id_members')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_development_records_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_development_records')),
    sa.UniqueConstraint('dingtalk_userid', name=op.f('uq_development_records_dingtalk_userid')),
    sa.UniqueConstraint('member_id', name=op.f('uq_development_records_member_id')),
    sa.UniqueConstraint('mobile', name=op.f('uq_development_records_mobile')),
    sa.UniqueConstraint('wecom_userid', name=op.f('uq_development_records_wecom_userid'))
    )
    with op.batch_alter_table('development_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_development_records_organization_id'), ['organization_id'], unique=False)

    op.create_table('development_milestones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=30), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('end_day', sa.Date(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('rule_version', sa.String(length=4), nullable=False),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['development_records.id'], name=op.f('fk_development_milestones_record_id_development_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['members.id'], name=op.f('fk_development_milestones_recorded_by_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_development_milestones')),
    sa.UniqueConstraint('record_id', 'step', 'day', name=op.f('uq_development_milestones_record_id_step_day'))
    )
    with op.batch_alter_table('development_milestones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_development_milestones_record_id'), ['record_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('development_milestones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_development_milestones_record_id'))

    op.drop_table('development_milestones')
    with op.batch_alter_table('development_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_development_records_organization_id'))

    op.drop_table('development_records')
