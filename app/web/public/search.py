"""The public search page: words, filters with counts, sort, pages, and why each result shows."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, render_template, request, url_for

from app.domain.search import (
    FUNDING_MODES,
    PRICE_UNITS,
    SORTS,
    SearchQuery,
    format_price_arg,
    parse_query,
)
from app.services import listings as listing_service
from app.services import search as search_service
from app.services import whats_next
from app.web.context import acting, public

bp = Blueprint("search", __name__)


def search_url(query: SearchQuery, **overrides) -> str:
    args = query.to_args(**overrides)
    return url_for("search.results") + ("?" + urlencode(args) if args else "")


@bp.get("/search")
@public
def results():
    ctx = acting()
    args = request.args.copy()
    # A holder's search starts with listings that take their kind of budget, in their district:
    # said above the results, changeable in the filters, and ?all=1 starts from everything.
    started_from: dict[str, str] = {}
    if ctx.holder is not None and "all" not in args:
        for key, value in whats_next.search_start(ctx.holder).items():
            if not args.getlist(key):
                args[key] = value
                started_from[key] = value
    query = parse_query(args)
    user = ctx.user
    result = search_service.search(query, user_id=user.id if user else None)
    # An existing client keeping an older price sees their own price, not the new clients' one.
    own_prices = listing_service.rates_for_client(
        [hit.document.listing_id for hit in result.hits],
        ctx.holder.id if ctx.holder is not None else None)
    shown = result.query  # what the results are for: the "did you mean" words if nothing matched
    # On a phone the filters sit behind a "Filter" link; ?filters=open shows them (no JS).
    # ... and open by themselves when the area typed needs fixing, so the error beside it shows.
    filters_open = request.args.get("filters") == "open" or query.district_error is not None
    here = search_url(result.query)
    title = f"Search results for “{shown.text}”" if shown.text else "Find care and support"
    return render_template(
        "search/results.html", title=title, result=result, query=result.query,
        search_url=search_url, sorts=SORTS, price_units=PRICE_UNITS,
        format_price_arg=format_price_arg, filters_open=filters_open,
        filters_open_url=here + ("&" if "?" in here else "?") + "filters=open#filters",
        filters_closed_url=here, started_from=started_from,
        funding_labels=FUNDING_MODES, own_prices=own_prices,
        everything_url=url_for("search.results", all="1", q=query.text or None),
    )
