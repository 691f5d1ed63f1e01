"""money: approval codes stored beside a booking's approval reasons (decisions read codes, not wording)

Revision ID: 0025_money
Revises: 0016_money
Create Date: 2026-12-06 18:10:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0025_money'
down_revision = '0016_money'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_codes', sa.JSON(), nullable=True))

    # Give stored reasons their codes: the one time the wording is read (see the domain's
    # code_of_stored_reason, copied here so the migration never changes with the app).
    bookings = sa.table('bookings', sa.column('id', sa.Integer),
                        sa.column('approval_reasons', sa.JSON),
                        sa.column('approval_codes', sa.JSON))
    conn = op.get_bind()
    for row in conn.execute(sa.select(bookings.c.id, bookings.c.approval_reasons)).all():
        codes = [_code(str(reason)) for reason in (row.approval_reasons or [])]
        conn.execute(bookings.update().where(bookings.c.id == row.id).values(approval_codes=codes))

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.alter_column('approval_codes', existing_type=sa.JSON(), nullable=False)


def _code(reason: str) -> str:
    if reason.startswith("A check on the booking needs a second look: "):
        return "rule_hold"
    if "spending categories agreed" in reason:
        return "outside_plan"
    if "contingency reserve" in reason:
        return "contingency"
    if "weekly budget" in reason:
        return "above_weekly_budget"
    if "weeks of your budget" in reason:
        return "above_threshold"
    return "rule_hold"  # written by a rule check: hidden from everyone but brokers


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('approval_codes')
