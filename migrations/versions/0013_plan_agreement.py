"""plan agreement: spending changes proposed from the holder's side wait for a broker

A support plan version with a review row is a proposal (waiting, agreed, declined or
superseded); a version without one is agreed. So every existing version counts as agreed,
with no data to move.

Revision ID: 0013_plan_agreement
Revises: 0012_search_index_changes
Create Date: 2026-12-04 15:40:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0013_plan_agreement'
down_revision = '0012_search_index_changes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plan_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('waiting', 'agreed', 'declined', 'superseded')", name=op.f('ck_plan_reviews_status_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_plan_reviews_decided_by_id_users')),
    sa.ForeignKeyConstraint(['holder_id'], ['users.id'], name=op.f('fk_plan_reviews_holder_id_users')),
    sa.ForeignKeyConstraint(['plan_id'], ['support_plan_versions.id'], name=op.f('fk_plan_reviews_plan_id_support_plan_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_reviews')),
    sa.UniqueConstraint('plan_id', name=op.f('uq_plan_reviews_plan_id'))
    )
    with op.batch_alter_table('plan_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_reviews_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_reviews_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('plan_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_reviews_status'))
        batch_op.drop_index(batch_op.f('ix_plan_reviews_holder_id'))

    op.drop_table('plan_reviews')
