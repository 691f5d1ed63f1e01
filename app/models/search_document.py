"""The PostgreSQL search index: one row per live listing, and the word list for "did you mean".

Owned by app.adapters.search.postgres, which keeps it in step with the listings. On SQLite the
tables exist (so one schema serves both databases) but the Whoosh backend is used instead.
"""

from __future__ import annotations

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

TextArray = JSON().with_variant(postgresql.ARRAY(Text()), "postgresql")
TSVector = Text().with_variant(postgresql.TSVECTOR(), "postgresql")


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
        Index("ix_search_documents_tsv", "tsv", postgresql_using="gin"),
        Index("ix_search_documents_facet_tokens", "facet_tokens", postgresql_using="gin"),
        Index("ix_search_documents_districts", "districts", postgresql_using="gin"),
        Index("ix_search_documents_price_pence", "price_pence"),
    )


class SearchWord(Base):
    """Unstemmed words seen in listings: pg_trgm finds the closest one to a misspelling."""

    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(String(60), primary_key=True)

    __table_args__ = (
        Index("ix_search_words_trgm", "word", postgresql_using="gin",
              postgresql_ops={"word": "gin_trgm_ops"}),
    )
