"""providers, vetting and listings

Revision ID: 0004_providers
Revises: 0003_payments

"""
from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0004_providers'
down_revision = '0003_payments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('provider_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('provider_type', sa.String(length=30), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('about', sa.Text(), nullable=False),
    sa.Column('photo_filename', sa.String(length=64), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('gender', sa.String(length=40), nullable=True),
    sa.Column('specialisms', sa.JSON(), nullable=False),
    sa.Column('venue_accessibility', sa.Text(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("provider_type IN ('self_employed_pa', 'employed_pa', 'home_care_agency', 'community_organisation', 'group_activity')", name=op.f('ck_provider_profiles_type_known')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_provider_profiles_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_profiles')),
    sa.UniqueConstraint('user_id', name=op.f('uq_provider_profiles_user_id'))
    )
    op.create_table('availability_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_availability_exceptions_ends_after_start')),
    sa.ForeignKeyConstraint(['profile_id'], ['provider_profiles.id'], name=op.f('fk_availability_exceptions_profile_id_provider_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_availability_exceptions'))
    )
    with op.batch_alter_table('availability_exceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_availability_exceptions_profile_id'), ['profile_id'], unique=False)

    op.create_table('availability_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.SmallInteger(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=False),
    sa.CheckConstraint('end_time > start_time', name=op.f('ck_availability_slots_ends_after_start')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_availability_slots_weekday_range')),
    sa.ForeignKeyConstraint(['profile_id'], ['provider_profiles.id'], name=op.f('fk_availability_slots_profile_id_provider_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_availability_slots'))
    )
    with op.batch_alter_table('availability_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_availability_slots_profile_id'), ['profile_id'], unique=False)

    op.create_table('listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('price_pence', sa.Integer(), nullable=False),
    sa.Column('price_unit', sa.String(length=10), nullable=False),
    sa.Column('minimum_units', sa.Integer(), nullable=False),
    sa.Column('travel_charge_pence', sa.Integer(), nullable=False),
    sa.Column('cancellation_notice_hours', sa.Integer(), nullable=False),
    sa.Column('cancellation_charge_pence', sa.Integer(), nullable=False),
    sa.Column('funding_modes', sa.JSON(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('is_live', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("category IN ('personal_care', 'help_at_home', 'getting_out', 'employment_support', 'learning', 'transport', 'short_breaks', 'peer_support', 'wellbeing', 'advocacy', 'money_management')", name=op.f('ck_listings_category_known')),
    sa.CheckConstraint("price_unit IN ('hour', 'session', 'day')", name=op.f('ck_listings_unit_known')),
    sa.CheckConstraint('cancellation_charge_pence >= 0', name=op.f('ck_listings_cancellation_not_negative')),
    sa.CheckConstraint('cancellation_notice_hours >= 0', name=op.f('ck_listings_notice_not_negative')),
    sa.CheckConstraint('minimum_units >= 1', name=op.f('ck_listings_minimum_at_least_one')),
    sa.CheckConstraint('price_pence > 0', name=op.f('ck_listings_price_positive')),
    sa.CheckConstraint('published OR NOT is_live', name=op.f('ck_listings_live_only_if_published')),
    sa.CheckConstraint('travel_charge_pence >= 0', name=op.f('ck_listings_travel_not_negative')),
    sa.ForeignKeyConstraint(['profile_id'], ['provider_profiles.id'], name=op.f('fk_listings_profile_id_provider_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listings'))
    )
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listings_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_listings_is_live'), ['is_live'], unique=False)
        batch_op.create_index(batch_op.f('ix_listings_profile_id'), ['profile_id'], unique=False)

    op.create_table('provider_districts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('district', sa.String(length=4), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['provider_profiles.id'], name=op.f('fk_provider_districts_profile_id_provider_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_districts')),
    sa.UniqueConstraint('profile_id', 'district', name='uq_provider_districts_pair')
    )
    with op.batch_alter_table('provider_districts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_districts_district'), ['district'], unique=False)
        batch_op.create_index(batch_op.f('ix_provider_districts_profile_id'), ['profile_id'], unique=False)

    op.create_table('vetting_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('update_service', sa.Boolean(), nullable=False),
    sa.Column('submitted_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('rejection_reason', sa.String(length=500), nullable=True),
    sa.CheckConstraint("kind IN ('dbs', 'cqc', 'insurance', 'reference', 'right_to_work', 'training')", name=op.f('ck_vetting_checks_kind_known')),
    sa.CheckConstraint("status != 'rejected' OR rejection_reason IS NOT NULL", name=op.f('ck_vetting_checks_rejection_has_reason')),
    sa.CheckConstraint("status != 'verified' OR verified_by_id IS NOT NULL", name=op.f('ck_vetting_checks_verified_has_broker')),
    sa.CheckConstraint("status IN ('pending', 'verified', 'rejected')", name=op.f('ck_vetting_checks_status_known')),
    sa.ForeignKeyConstraint(['profile_id'], ['provider_profiles.id'], name=op.f('fk_vetting_checks_profile_id_provider_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_vetting_checks_verified_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vetting_checks'))
    )
    with op.batch_alter_table('vetting_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vetting_checks_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vetting_checks_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('vetting_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vetting_checks_status'))
        batch_op.drop_index(batch_op.f('ix_vetting_checks_profile_id'))

    op.drop_table('vetting_checks')
    with op.batch_alter_table('provider_districts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provider_districts_profile_id'))
        batch_op.drop_index(batch_op.f('ix_provider_districts_district'))

    op.drop_table('provider_districts')
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listings_profile_id'))
        batch_op.drop_index(batch_op.f('ix_listings_is_live'))
        batch_op.drop_index(batch_op.f('ix_listings_category'))

    op.drop_table('listings')
    with op.batch_alter_table('availability_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_availability_slots_profile_id'))

    op.drop_table('availability_slots')
    with op.batch_alter_table('availability_exceptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_availability_exceptions_profile_id'))

    op.drop_table('availability_exceptions')
    op.drop_table('provider_profiles')
