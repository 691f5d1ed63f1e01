"""hardening: a session generation on users (ends old cookies), sign-in throttles per (email,
address) pair, one open review report per person and review, and scheduled job runs (the claim
that stops two schedulers running a job twice)

Revision ID: 0018_hardening
Revises: 0015_homes
Create Date: 2026-12-06 02:38:11.535517

"""
from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0018_hardening'
down_revision = '0015_homes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scheduled_job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=60), nullable=False),
    sa.Column('due_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=True),
    sa.Column('outcome', sa.String(length=500), nullable=True),
    sa.Column('host', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_job_runs')),
    sa.UniqueConstraint('job', 'due_at', name='uq_scheduled_job_runs_job_due')
    )
    op.create_table('sign_in_throttles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_key', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('blocked_until', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_throttles')),
    sa.UniqueConstraint('email_key', 'address', name='uq_sign_in_throttles_pair')
    )
    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_throttles_address', ['address', 'last_failure_at'], unique=False)

    # Reports sent twice at once before this index existed: keep the first open one of each
    # pair; the others are closed as "kept" on the day they were made (nothing is deleted).
    op.execute(
        "UPDATE review_reports SET closed_at = created_at, outcome = 'kept', "
        "outcome_note = 'Closed as a duplicate of an earlier open report.' "
        "WHERE closed_at IS NULL AND id NOT IN (SELECT MIN(id) FROM review_reports "
        "WHERE closed_at IS NULL GROUP BY review_id, reporter_id)"
    )
    with op.batch_alter_table('review_reports', schema=None) as batch_op:
        batch_op.create_index('uq_review_reports_open_reporter', ['review_id', 'reporter_id'], unique=True, postgresql_where=sa.text('closed_at IS NULL'), sqlite_where=sa.text('closed_at IS NULL'))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')

    with op.batch_alter_table('review_reports', schema=None) as batch_op:
        batch_op.drop_index('uq_review_reports_open_reporter', postgresql_where=sa.text('closed_at IS NULL'), sqlite_where=sa.text('closed_at IS NULL'))

    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_throttles_address')

    op.drop_table('sign_in_throttles')
    op.drop_table('scheduled_job_runs')
