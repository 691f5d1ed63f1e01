"""The PostgreSQL search index: a row per live listing, stored sets of listings, and the word list.

Owned by app.adapters.search.postgres, which keeps it in step with the listings. On SQLite the
tables exist (so one schema serves both databases) but the Whoosh backend is used instead.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

TextArray = JSON().with_variant(postgresql.ARRAY(Text()), "postgresql")
TSVector = Text().with_variant(postgresql.TSVECTOR(), "postgresql")
VarBit = Text().with_variant(postgresql.BIT(varying=True), "postgresql")
IntegerArray = JSON().with_variant(postgresql.ARRAY(Integer()), "postgresql")


class SearchDocument(Base):
    __tablename__ = "search_documents"

    listing_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    provider_id: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[str] = mapped_column(String(40), nullable=False)
    price_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    # Ratings are scores out of 5, not money; -1 means not rated yet.
    rating: Mapped[float] = mapped_column(Float, nullable=False)
    rating_count: Mapped[int] = mapped_column(Integer, nullable=False)
    quality: Mapped[float] = mapped_column(Float, nullable=False)  # Bayesian-averaged rating
    districts: Mapped[list[str]] = mapped_column(TextArray, nullable=False)
    facet_tokens: Mapped[list[str]] = mapped_column(TextArray, nullable=False)
    tsv: Mapped[str] = mapped_column(TSVector, nullable=False)
    document: Mapped[str] = mapped_column(Text, nullable=False)  # the ListingDocument as JSON

    __table_args__ = (
        # Words only a few listings use are found through the GIN index (the common ones have
        # stored sets in search_postings).
        Index("ix_search_documents_tsv", "tsv", postgresql_using="gin"),
        # One per sort order, each ending in the listing id: the first matches in that order
        # are found by walking the index (backwards for "highest first") and testing each id
        # against the set of matches, without reading the table.
        Index("ix_search_documents_quality", "quality", "listing_id"),
        Index("ix_search_documents_price", "price_pence", "listing_id"),
        Index("ix_search_documents_rating", "rating", "rating_count", "listing_id"),
    )


class SearchPosting(Base):
    """A stored set of listings: the listings carrying one facet token, covering one district, or
    using one common word (anywhere, or in the title), as a bit string with bit n for listing n.

    Filters and facet counts are then ANDs and bit counts over a few of these (PostgreSQL's `&`
    and `bit_count`), not a pass over every matching row. Every row is as long as the others.
    """

    __tablename__ = "search_postings"

    token: Mapped[str] = mapped_column(String(200), primary_key=True)  # e.g. "f:cat:transport"
    # Sets are stored in rows of 8,192 bits (see the adapter's CHUNK); a missing row is zeros.
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(1), nullable=False)  # f, d, w or t (see the adapter)
    bits: Mapped[str] = mapped_column(VarBit, nullable=False)

    __table_args__ = (Index("ix_search_postings_kind", "kind"),)


class SearchWord(Base):
    """Unstemmed words seen in listings: pg_trgm finds the closest one to a misspelling."""

    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(String(60), primary_key=True)

    __table_args__ = (
        Index("ix_search_words_trgm", "word", postgresql_using="gin",
              postgresql_ops={"word": "gin_trgm_ops"}),
    )


class SearchIndexState(Base):
    """One row: the version of search_postings, one more after every index write, so each
    process knows when the sets it keeps in memory are out of date."""

    __tablename__ = "search_index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)


class SearchIndexChange(Base):
    """What one index write changed: the sets (tokens) and the listings' documents. A process
    whose cache is a few versions behind drops just these instead of everything. Rows are kept
    for the last CHANGES_KEPT versions; a rebuild clears them (a gap means "drop everything")."""

    __tablename__ = "search_index_changes"

    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tokens: Mapped[list[str]] = mapped_column(TextArray, nullable=False)
    listing_ids: Mapped[list[int]] = mapped_column(IntegerArray, nullable=False)
