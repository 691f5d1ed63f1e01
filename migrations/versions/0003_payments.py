"""payments: operations, payments, connected accounts, webhook events

Revision ID: 0003_payments
Revises: 0002_notifications

"""
from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0003_payments'
down_revision = '0002_notifications'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('processed_webhook_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stripe_event_id', sa.String(length=255), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('handled_by', sa.Integer(), nullable=False),
    sa.Column('processed_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processed_webhook_events')),
    sa.UniqueConstraint('stripe_event_id', name=op.f('uq_processed_webhook_events_stripe_event_id'))
    )
    with op.batch_alter_table('processed_webhook_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_webhook_events_event_type'), ['event_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_processed_webhook_events_object_id'), ['object_id'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=False),
    sa.Column('payer_id', sa.Integer(), nullable=True),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_pence', sa.Integer(), nullable=False),
    sa.Column('authorised_pence', sa.Integer(), nullable=False),
    sa.Column('captured_pence', sa.Integer(), nullable=False),
    sa.Column('refunded_pence', sa.Integer(), nullable=False),
    sa.Column('transferred_pence', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('stripe_customer_id', sa.String(length=64), nullable=False),
    sa.Column('stripe_payment_method_id', sa.String(length=64), nullable=False),
    sa.Column('stripe_payment_intent_id', sa.String(length=64), nullable=True),
    sa.Column('stripe_charge_id', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'authorised', 'declined', 'unavailable', 'failed', 'canceled', 'captured', 'refunded')", name=op.f('ck_payments_status_known')),
    sa.CheckConstraint('amount_pence > 0', name=op.f('ck_payments_amount_positive')),
    sa.CheckConstraint('authorised_pence >= 0 AND authorised_pence <= amount_pence', name=op.f('ck_payments_authorised_within_amount')),
    sa.CheckConstraint('captured_pence >= 0 AND captured_pence <= authorised_pence', name=op.f('ck_payments_captured_within_authorised')),
    sa.CheckConstraint('refunded_pence >= 0 AND refunded_pence <= captured_pence', name=op.f('ck_payments_refunded_within_captured')),
    sa.CheckConstraint('transferred_pence >= 0 AND transferred_pence <= captured_pence', name=op.f('ck_payments_transferred_within_captured')),
    sa.ForeignKeyConstraint(['payer_id'], ['users.id'], name=op.f('fk_payments_payer_id_users')),
    sa.ForeignKeyConstraint(['provider_id'], ['users.id'], name=op.f('fk_payments_provider_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('stripe_payment_intent_id', name=op.f('uq_payments_stripe_payment_intent_id'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_payer_id'), ['payer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_reference'), ['reference'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_status'), ['status'], unique=False)

    op.create_table('provider_payment_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('stripe_account_id', sa.String(length=64), nullable=False),
    sa.Column('details_submitted', sa.Boolean(), nullable=False),
    sa.Column('payouts_enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['users.id'], name=op.f('fk_provider_payment_accounts_provider_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_payment_accounts')),
    sa.UniqueConstraint('provider_id', name=op.f('uq_provider_payment_accounts_provider_id')),
    sa.UniqueConstraint('stripe_account_id', name=op.f('uq_provider_payment_accounts_stripe_account_id'))
    )
    op.create_table('payment_operations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('amount_pence', sa.Integer(), nullable=True),
    sa.Column('stripe_object_id', sa.String(length=64), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error_code', sa.String(length=60), nullable=True),
    sa.Column('error_message', sa.String(length=300), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'succeeded', 'declined', 'failed', 'unavailable')", name=op.f('ck_payment_operations_status_known')),
    sa.CheckConstraint('amount_pence IS NULL OR amount_pence > 0', name=op.f('ck_payment_operations_amount_positive')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_operations_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_operations')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_operations_idempotency_key'))
    )
    with op.batch_alter_table('payment_operations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_operations_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_operations_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_operations_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('payment_operations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_operations_status'))
        batch_op.drop_index(batch_op.f('ix_payment_operations_payment_id'))
        batch_op.drop_index(batch_op.f('ix_payment_operations_kind'))

    op.drop_table('payment_operations')
    op.drop_table('provider_payment_accounts')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_status'))
        batch_op.drop_index(batch_op.f('ix_payments_reference'))
        batch_op.drop_index(batch_op.f('ix_payments_provider_id'))
        batch_op.drop_index(batch_op.f('ix_payments_payer_id'))

    op.drop_table('payments')
    with op.batch_alter_table('processed_webhook_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_webhook_events_object_id'))
        batch_op.drop_index(batch_op.f('ix_processed_webhook_events_event_type'))

    op.drop_table('processed_webhook_events')
