"""pool cards: a pooled session's card payments and card steps name the participant whose share they are

Revision ID: 0030_pool_cards
Revises: 0029_booked_terms
Create Date: 2026-12-06 21:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0030_pool_cards'
down_revision = '0029_booked_terms'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('session_card_payments', 'card_steps'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('participant_id', sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{table}_participant_id'), ['participant_id'],
                                  unique=False)
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_participant_id_pool_participants'),
                                        'pool_participants', ['participant_id'], ['id'])


def downgrade():
    for table in ('card_steps', 'session_card_payments'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_participant_id_pool_participants'),
                                     type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_participant_id'))
            batch_op.drop_column('participant_id')
