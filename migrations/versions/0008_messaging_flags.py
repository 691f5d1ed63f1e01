"""messaging and flags: conversations and messages; brokerage flags, provider restrictions
(listings suspended, payouts held) and safeguarding referrals.

At most one open flag per rule and subject is a partial unique index (PostgreSQL and SQLite).

Revision ID: 0008_messaging_flags
Revises: 0007_bookings
Create Date: 2026-11-23 16:59:50.199154

"""
from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0008_messaging_flags'
down_revision = '0007_bookings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=60), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('provider_profile_id', sa.Integer(), nullable=True),
    sa.Column('holder_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('provider_response', sa.Text(), nullable=True),
    sa.Column('provider_responded_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('provider_responded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'upheld') = (outcome IS NOT NULL)", name=op.f('ck_flags_outcome_iff_upheld')),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('warn', 'suspend_listing', 'hold_payouts', 'refer_safeguarding')", name=op.f('ck_flags_outcome_known')),
    sa.CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name=op.f('ck_flags_severity_known')),
    sa.CheckConstraint("status IN ('open', 'dismissed', 'upheld')", name=op.f('ck_flags_status_known')),
    sa.ForeignKeyConstraint(['holder_id'], ['users.id'], name=op.f('fk_flags_holder_id_users')),
    sa.ForeignKeyConstraint(['provider_profile_id'], ['provider_profiles.id'], name=op.f('fk_flags_provider_profile_id_provider_profiles')),
    sa.ForeignKeyConstraint(['provider_responded_by_id'], ['users.id'], name=op.f('fk_flags_provider_responded_by_id_users')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_flags_reviewed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flags'))
    )
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flags_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_flags_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_flags_provider_profile_id'), ['provider_profile_id'], unique=False)
        batch_op.create_index('ix_flags_status_severity', ['status', 'severity'], unique=False)
        batch_op.create_index('uq_flags_open_rule_subject', ['rule', 'subject_kind', 'subject_id'], unique=True, postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))

    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('provider_profile_id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_message_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['holder_id'], ['users.id'], name=op.f('fk_conversations_holder_id_users')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_conversations_listing_id_listings')),
    sa.ForeignKeyConstraint(['provider_profile_id'], ['provider_profiles.id'], name=op.f('fk_conversations_provider_profile_id_provider_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_holder_last', ['holder_id', 'last_message_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_listing_id'), ['listing_id'], unique=False)
        batch_op.create_index('ix_conversations_provider_last', ['provider_profile_id', 'last_message_at'], unique=False)

    op.create_table('provider_restrictions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_profile_id', sa.Integer(), nullable=False),
    sa.Column('listings_suspended', sa.Boolean(), nullable=False),
    sa.Column('payouts_held', sa.Boolean(), nullable=False),
    sa.Column('flag_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['flag_id'], ['flags.id'], name=op.f('fk_provider_restrictions_flag_id_flags')),
    sa.ForeignKeyConstraint(['provider_profile_id'], ['provider_profiles.id'], name=op.f('fk_provider_restrictions_provider_profile_id_provider_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_restrictions')),
    sa.UniqueConstraint('provider_profile_id', name=op.f('uq_provider_restrictions_provider_profile_id'))
    )
    op.create_table('safeguarding_referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flag_id', sa.Integer(), nullable=False),
    sa.Column('provider_profile_id', sa.Integer(), nullable=True),
    sa.Column('holder_id', sa.Integer(), nullable=True),
    sa.Column('referred_by_id', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('referred_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['flag_id'], ['flags.id'], name=op.f('fk_safeguarding_referrals_flag_id_flags')),
    sa.ForeignKeyConstraint(['holder_id'], ['users.id'], name=op.f('fk_safeguarding_referrals_holder_id_users')),
    sa.ForeignKeyConstraint(['provider_profile_id'], ['provider_profiles.id'], name=op.f('fk_safeguarding_referrals_provider_profile_id_provider_profiles')),
    sa.ForeignKeyConstraint(['referred_by_id'], ['users.id'], name=op.f('fk_safeguarding_referrals_referred_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safeguarding_referrals'))
    )
    with op.batch_alter_table('safeguarding_referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safeguarding_referrals_flag_id'), ['flag_id'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('on_behalf_of_id', sa.Integer(), nullable=True),
    sa.Column('from_provider', sa.Boolean(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sent_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_by_holder_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('read_by_provider_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('flagged_categories', sa.JSON(), nullable=False),
    sa.CheckConstraint('length(body) BETWEEN 1 AND 2000', name=op.f('ck_messages_body_length')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_messages_author_id_users')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_messages_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['on_behalf_of_id'], ['users.id'], name=op.f('fk_messages_on_behalf_of_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_sent_at'), ['sent_at'], unique=False)



def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_sent_at'))
        batch_op.drop_index(batch_op.f('ix_messages_conversation_id'))

    op.drop_table('messages')
    with op.batch_alter_table('safeguarding_referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safeguarding_referrals_flag_id'))

    op.drop_table('safeguarding_referrals')
    op.drop_table('provider_restrictions')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_provider_last')
        batch_op.drop_index(batch_op.f('ix_conversations_listing_id'))
        batch_op.drop_index('ix_conversations_holder_last')

    op.drop_table('conversations')
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_index('uq_flags_open_rule_subject', postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_flags_status_severity')
        batch_op.drop_index(batch_op.f('ix_flags_provider_profile_id'))
        batch_op.drop_index(batch_op.f('ix_flags_holder_id'))
        batch_op.drop_index(batch_op.f('ix_flags_created_at'))

    op.drop_table('flags')
