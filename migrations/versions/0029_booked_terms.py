"""booked terms: each booking stores the cancellation terms it was made under (or its accepted agreement's)

Until now a booking's cancellation policy was rebuilt on every read from the listing's policy
now, the audited listing changes since the booking was made, and the accepted agreement
covering it. This stores that result on the booking, so later changes to the listing or an
agreement never change an existing booking's terms. The backfill gives every existing booking
exactly what the rebuild gave:

1. the listing's policy now;
2. where the provider changed the policy after the booking was made (audit events
   `listing.updated` whose `changes` name a policy field), the old value of the first such
   change after the booking was made, field by field;
3. where an agreement covers the booking and the holder's side accepted a version of it, the
   newest accepted version's terms instead.

Revision ID: 0029_booked_terms
Revises: 0028_held_messages
Create Date: 2026-12-06 21:20:00

"""
from collections import defaultdict

from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0029_booked_terms'
down_revision = '0028_held_messages'
branch_labels = None
depends_on = None

POLICY_FIELDS = ("cancellation_notice_hours", "cancellation_charge_pence")

bookings = sa.table(
    'bookings', sa.column('id', sa.Integer), sa.column('listing_id', sa.Integer),
    sa.column('created_at', app.models.base.UTCDateTime(timezone=True)),
    sa.column('cancellation_notice_hours', sa.Integer),
    sa.column('cancellation_charge_pence', sa.Integer))
listings = sa.table(
    'listings', sa.column('id', sa.Integer), sa.column('cancellation_notice_hours', sa.Integer),
    sa.column('cancellation_charge_pence', sa.Integer))
audit_events = sa.table(
    'audit_events', sa.column('id', sa.Integer), sa.column('action', sa.String),
    sa.column('subject_type', sa.String), sa.column('subject_id', sa.String),
    sa.column('occurred_at', app.models.base.UTCDateTime(timezone=True)),
    sa.column('details', sa.JSON))
agreement_bookings = sa.table(
    'agreement_bookings', sa.column('agreement_id', sa.Integer), sa.column('booking_id', sa.Integer))
versions = sa.table(
    'service_agreement_versions', sa.column('agreement_id', sa.Integer), sa.column('version', sa.Integer),
    sa.column('status', sa.String), sa.column('cancellation_notice_hours', sa.Integer),
    sa.column('cancellation_charge_pence', sa.Integer))


def _backfill(bind) -> None:
    # 1. The listing's policy now (no charge is 0).
    for field in POLICY_FIELDS:
        bind.execute(bookings.update().values({field: sa.func.coalesce(
            sa.select(listings.c[field]).where(listings.c.id == bookings.c.listing_id)
            .scalar_subquery(), 0)}))
    # 2. The policy before a later audited change, for the listings whose policy changed.
    changes: dict[int, list[tuple]] = defaultdict(list)
    for subject_id, occurred_at, details in bind.execute(
            sa.select(audit_events.c.subject_id, audit_events.c.occurred_at, audit_events.c.details)
            .where(audit_events.c.action == 'listing.updated', audit_events.c.subject_type == 'listing')
            .order_by(audit_events.c.occurred_at, audit_events.c.id)):
        changed = {k: v for k, v in ((details or {}).get('changes') or {}).items() if k in POLICY_FIELDS}
        if changed and str(subject_id).isdigit():
            changes[int(subject_id)].append((occurred_at, changed))
    for listing_id, listing_changes in changes.items():
        for booking_id, made, notice, charge in bind.execute(
                sa.select(bookings.c.id, bookings.c.created_at, bookings.c.cancellation_notice_hours,
                          bookings.c.cancellation_charge_pence)
                .where(bookings.c.listing_id == listing_id).order_by(bookings.c.id)).all():
            now_values = {"cancellation_notice_hours": notice, "cancellation_charge_pence": charge}
            then = dict(now_values)
            for field in POLICY_FIELDS:
                # The first change after the booking was made holds, as its old value, the
                # policy in force when it was made.
                first = next((c[field] for at, c in listing_changes
                              if made is not None and at > made and field in c), None)
                if first is not None:
                    then[field] = int(first[0] or 0)
            if then != now_values:
                bind.execute(bookings.update().where(bookings.c.id == booking_id).values(then))
    # 3. The newest accepted agreement version covering the booking.
    newest = (sa.select(versions.c.version).where(
        versions.c.agreement_id == agreement_bookings.c.agreement_id, versions.c.status == 'accepted')
        .order_by(versions.c.version.desc()).limit(1).correlate(agreement_bookings).scalar_subquery())
    for booking_id, notice, charge in bind.execute(
            sa.select(agreement_bookings.c.booking_id, versions.c.cancellation_notice_hours,
                      versions.c.cancellation_charge_pence)
            .join(versions, versions.c.agreement_id == agreement_bookings.c.agreement_id)
            .where(versions.c.status == 'accepted', versions.c.version == newest)).all():
        bind.execute(bookings.update().where(bookings.c.id == booking_id).values(
            cancellation_notice_hours=notice, cancellation_charge_pence=charge or 0))


def upgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancellation_notice_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cancellation_charge_pence', sa.Integer(), nullable=True))
    _backfill(op.get_bind())
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.alter_column('cancellation_notice_hours', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('cancellation_charge_pence', existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint(op.f('ck_bookings_cancellation_notice_not_negative'),
                                         'cancellation_notice_hours >= 0')
        batch_op.create_check_constraint(op.f('ck_bookings_cancellation_charge_not_negative'),
                                         'cancellation_charge_pence >= 0')


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_bookings_cancellation_charge_not_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_bookings_cancellation_notice_not_negative'), type_='check')
        batch_op.drop_column('cancellation_charge_pence')
        batch_op.drop_column('cancellation_notice_hours')
