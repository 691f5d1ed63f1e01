"""jobs: when the holder's side was told a session of a weekly series could not be funded yet (the funding horizon)

Revision ID: 0027_jobs
Revises: 0026_jobs
Create Date: 2026-12-06 18:40:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0027_jobs'
down_revision = '0026_jobs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('funding_short_told_at', app.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('booking_sessions', schema=None) as batch_op:
        batch_op.drop_column('funding_short_told_at')
