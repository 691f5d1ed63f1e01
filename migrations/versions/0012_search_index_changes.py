"""search index changes: what each index write changed, so a process drops only those sets

Each PostgreSQL search index write records the sets (tokens) and listings it changed under its
version; a process whose in-memory sets are a few versions behind drops just those instead of
re-reading every set. Empty until the next index write; no reindex is needed.

Revision ID: 0012_search_index_changes
Revises: 0011_search_postings
Create Date: 2026-11-23 21:00:00

"""
from alembic import op
import sqlalchemy as sa

from sqlalchemy.dialects import postgresql

import app.models.base  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = '0012_search_index_changes'
down_revision = '0011_search_postings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_index_changes',
    sa.Column('version', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('tokens', sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), 'postgresql'), nullable=False),
    sa.Column('listing_ids', sa.JSON().with_variant(postgresql.ARRAY(sa.Integer()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_search_index_changes'))
    )


def downgrade():
    op.drop_table('search_index_changes')
