"""held messages: the flag that gathers a restricted provider's messages, and "not delivered"

Revision ID: 0028_held_messages
Revises: 0027_jobs
Create Date: 2026-12-06 21:20:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0028_held_messages'
down_revision = '0027_jobs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_for_flag_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('not_delivered_at', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_messages_held_for_flag_id'), ['held_for_flag_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_messages_held_for_flag_id_flags'), 'flags', ['held_for_flag_id'], ['id'])


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_messages_held_for_flag_id_flags'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_messages_held_for_flag_id'))
        batch_op.drop_column('not_delivered_at')
        batch_op.drop_column('held_for_flag_id')
