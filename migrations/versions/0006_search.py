"""search: the PostgreSQL search index (search_documents) and its word list (search_words)

Both tables exist on SQLite too, unused there (the Whoosh backend serves SQLite). On PostgreSQL
the pg_trgm extension backs "did you mean".

Revision ID: 0006_search
Revises: 0005_ledger
Create Date: 2026-11-23 16:21:08.909118

"""
from alembic import op
import sqlalchemy as sa

from sqlalchemy.dialects import postgresql

import app.models.base  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = '0006_search'
down_revision = '0005_ledger'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('search_documents',
    sa.Column('listing_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('price_pence', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Float(), nullable=False),
    sa.Column('rating_count', sa.Integer(), nullable=False),
    sa.Column('quality', sa.Float(), nullable=False),
    sa.Column('districts', sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), 'postgresql'), nullable=False),
    sa.Column('facet_tokens', sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tsv', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('listing_id', name=op.f('pk_search_documents'))
    )
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.create_index('ix_search_documents_districts', ['districts'], unique=False, postgresql_using='gin')
        batch_op.create_index('ix_search_documents_facet_tokens', ['facet_tokens'], unique=False, postgresql_using='gin')
        batch_op.create_index('ix_search_documents_price_pence', ['price_pence'], unique=False)
        batch_op.create_index('ix_search_documents_tsv', ['tsv'], unique=False, postgresql_using='gin')

    op.create_table('search_words',
    sa.Column('word', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('word', name=op.f('pk_search_words'))
    )
    with op.batch_alter_table('search_words', schema=None) as batch_op:
        batch_op.create_index('ix_search_words_trgm', ['word'], unique=False, postgresql_using='gin', postgresql_ops={'word': 'gin_trgm_ops'})


def downgrade():
    with op.batch_alter_table('search_words', schema=None) as batch_op:
        batch_op.drop_index('ix_search_words_trgm', postgresql_using='gin', postgresql_ops={'word': 'gin_trgm_ops'})

    op.drop_table('search_words')
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_search_documents_tsv', postgresql_using='gin')
        batch_op.drop_index('ix_search_documents_price_pence')
        batch_op.drop_index('ix_search_documents_facet_tokens', postgresql_using='gin')
        batch_op.drop_index('ix_search_documents_districts', postgresql_using='gin')

    op.drop_table('search_documents')
    # pg_trgm is left installed: other schemas in the database may use it.
