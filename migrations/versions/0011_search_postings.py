"""search postings: stored sets of listings for fast filters and counts; one index per sort order

search_postings holds, per facet token, district and common word, the set of listings as bit
strings (see app.adapters.search.postgres); search_index_state counts its versions, so each
process knows when the sets it keeps in memory are out of date. The GIN indexes on facet tokens and districts are
replaced by those sets, and the price index by one btree per sort order ending in the listing
id. The sets are filled by `carefair search reindex` (run it once after upgrading: until then a
PostgreSQL search finds nothing); the demo runs it at start.

Revision ID: 0011_search_postings
Revises: 0010_card_payments
Create Date: 2026-11-23 19:30:00

"""
from alembic import op
import sqlalchemy as sa

from sqlalchemy.dialects import postgresql

import app.models.base  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = '0011_search_postings'
down_revision = '0010_card_payments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_postings',
    sa.Column('token', sa.String(length=200), nullable=False),
    sa.Column('chunk', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=1), nullable=False),
    sa.Column('bits', sa.Text().with_variant(postgresql.BIT(varying=True), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('token', 'chunk', name=op.f('pk_search_postings'))
    )
    with op.batch_alter_table('search_postings', schema=None) as batch_op:
        batch_op.create_index('ix_search_postings_kind', ['kind'], unique=False)

    op.create_table('search_index_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_index_state'))
    )

    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_search_documents_facet_tokens', postgresql_using='gin')
        batch_op.drop_index('ix_search_documents_districts', postgresql_using='gin')
        batch_op.drop_index('ix_search_documents_price_pence')
        batch_op.create_index('ix_search_documents_quality', ['quality', 'listing_id'], unique=False)
        batch_op.create_index('ix_search_documents_price', ['price_pence', 'listing_id'], unique=False)
        batch_op.create_index('ix_search_documents_rating', ['rating', 'rating_count', 'listing_id'], unique=False)


def downgrade():
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_search_documents_rating')
        batch_op.drop_index('ix_search_documents_price')
        batch_op.drop_index('ix_search_documents_quality')
        batch_op.create_index('ix_search_documents_price_pence', ['price_pence'], unique=False)
        batch_op.create_index('ix_search_documents_districts', ['districts'], unique=False, postgresql_using='gin')
        batch_op.create_index('ix_search_documents_facet_tokens', ['facet_tokens'], unique=False, postgresql_using='gin')

    with op.batch_alter_table('search_postings', schema=None) as batch_op:
        batch_op.drop_index('ix_search_postings_kind')

    op.drop_table('search_postings')
    op.drop_table('search_index_state')
