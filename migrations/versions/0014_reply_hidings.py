"""reply hidings: a broker can hide a provider's reply to a review, and say so on the report

A reply hiding is a row beside the reply (append-only, like review_hidings), so the review
keeps counting. Reports gain the outcome 'reply_hidden', which needs a wider outcome column.

By hand (autogenerate cannot see it): reply_hidings is append-only in the database too
(triggers refusing UPDATE and DELETE, as in 0009_ratings).

Revision ID: 0014_reply_hidings
Revises: 0013_plan_agreement
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0014_reply_hidings'
down_revision = '0013_plan_agreement'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reply_hidings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reply_id', sa.Integer(), nullable=False),
    sa.Column('broker_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("reason IN ('abusive', 'personal_data')", name=op.f('ck_reply_hidings_reason_known')),
    sa.CheckConstraint('length(note) BETWEEN 1 AND 1000', name=op.f('ck_reply_hidings_note_length')),
    sa.ForeignKeyConstraint(['broker_id'], ['users.id'], name=op.f('fk_reply_hidings_broker_id_users')),
    sa.ForeignKeyConstraint(['reply_id'], ['review_replies.id'], name=op.f('fk_reply_hidings_reply_id_review_replies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_hidings')),
    sa.UniqueConstraint('reply_id', name=op.f('uq_reply_hidings_reply_id'))
    )
    # SQLite rebuilds review_reports here (batch mode); PostgreSQL alters it in place.
    with op.batch_alter_table('review_reports', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_review_reports_outcome_known'), type_='check')
        batch_op.alter_column('outcome', existing_type=sa.String(length=10),
                              type_=sa.String(length=20), existing_nullable=True)
        batch_op.create_check_constraint(
            batch_op.f('ck_review_reports_outcome_known'),
            "outcome IS NULL OR outcome IN ('hidden', 'reply_hidden', 'kept')",
        )
    create_append_only_triggers('reply_hidings')


def create_append_only_triggers(table: str) -> None:
    """As in 0009_ratings (revisions are not importable from one another)."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # carefair_refuse_change() exists since 0001_foundation; replacing it keeps this
        # revision whole on its own.
        op.execute(
            "CREATE OR REPLACE FUNCTION carefair_refuse_change() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
        )
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION carefair_refuse_change()")
    elif dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END")


def downgrade():
    # A report closed as 'reply_hidden' has no place in the old outcomes; call it 'hidden'.
    op.execute("UPDATE review_reports SET outcome = 'hidden' WHERE outcome = 'reply_hidden'")
    with op.batch_alter_table('review_reports', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_review_reports_outcome_known'), type_='check')
        batch_op.alter_column('outcome', existing_type=sa.String(length=20),
                              type_=sa.String(length=10), existing_nullable=True)
        batch_op.create_check_constraint(
            batch_op.f('ck_review_reports_outcome_known'),
            "outcome IS NULL OR outcome IN ('hidden', 'kept')",
        )
    # Dropping the table drops its append-only triggers too (PostgreSQL and SQLite).
    op.drop_table('reply_hidings')
