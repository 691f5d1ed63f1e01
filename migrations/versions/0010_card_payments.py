"""card payments: budget cards (a budget's Stripe customer and card), session card payments

Each booking session's card authorisation (a `payments` row) with the idempotency key it was
asked with. The lead chains this after any other new revision when merging.

Revision ID: 0010_card_payments
Revises: 0009_ratings
Create Date: 2026-11-23 17:26:18.573400

"""
from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0010_card_payments'
down_revision = '0009_ratings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('budget_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('budget_id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('stripe_customer_id', sa.String(length=64), nullable=False),
    sa.Column('stripe_payment_method_id', sa.String(length=64), nullable=True),
    sa.Column('brand', sa.String(length=20), nullable=True),
    sa.Column('last4', sa.String(length=4), nullable=True),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_budget_cards_added_by_id_users')),
    sa.ForeignKeyConstraint(['budget_id'], ['budgets.id'], name=op.f('fk_budget_cards_budget_id_budgets')),
    sa.ForeignKeyConstraint(['holder_id'], ['users.id'], name=op.f('fk_budget_cards_holder_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_cards')),
    sa.UniqueConstraint('budget_id', name=op.f('uq_budget_cards_budget_id'))
    )
    with op.batch_alter_table('budget_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budget_cards_holder_id'), ['holder_id'], unique=False)

    op.create_table('session_card_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('hold_round', sa.Integer(), nullable=False),
    sa.Column('authorise_key', sa.String(length=255), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_session_card_payments_booking_id_bookings')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_session_card_payments_payment_id_payments')),
    sa.ForeignKeyConstraint(['session_id'], ['booking_sessions.id'], name=op.f('fk_session_card_payments_session_id_booking_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_card_payments')),
    sa.UniqueConstraint('authorise_key', name=op.f('uq_session_card_payments_authorise_key')),
    sa.UniqueConstraint('payment_id', name=op.f('uq_session_card_payments_payment_id'))
    )
    with op.batch_alter_table('session_card_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_card_payments_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_card_payments_session_id'), ['session_id'], unique=False)



def downgrade():
    with op.batch_alter_table('session_card_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_card_payments_session_id'))
        batch_op.drop_index(batch_op.f('ix_session_card_payments_booking_id'))

    op.drop_table('session_card_payments')
    with op.batch_alter_table('budget_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budget_cards_holder_id'))

    op.drop_table('budget_cards')
