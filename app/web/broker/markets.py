"""The market view for brokers and council admins: each district and category's concentration,
its trend, the providers above the cap and each broker's steering figures, from stored scans."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.domain.access import Permission
from app.domain.districts import uk_districts
from app.domain.listings import Category
from app.extensions import db
from app.models import Flag, ProviderProfile
from app.services import brokerage, council_settings, district_check, market_view
from app.web.budget_views import csv_response
from app.web.charts import concentration_chart
from app.web.context import requires
from app.web.helpers import parse_int

bp = Blueprint("markets", __name__, url_prefix="/markets")


def category_label(value: str) -> str:
    try:
        return Category(value).label
    except ValueError:
        return value.replace("_", " ").capitalize()


@bp.app_template_filter("category_label")
def _category_label_filter(value: str) -> str:
    return category_label(value)


@bp.app_template_test("district_in_use")
def _district_in_use(value: str | None) -> bool:
    """`{% if d is district_in_use %}`: a recorded district is one in use (see Districts to check)."""
    return bool(value) and value in uk_districts()


def _run():
    raw = request.args.get("run")
    return market_view.run_or_latest(parse_int(raw, maximum=2**31 - 1) if raw else None)


@bp.get("/")
@requires(Permission.MARKET_VIEW)
def index():
    run = _run()
    if run is None:
        return render_template("markets/index.html", run=None, title="Markets")
    district = (request.args.get("district") or "").strip().upper()[:8]
    category = (request.args.get("category") or "")[:40]
    only = request.args.get("only") if request.args.get("only") in ("concentrated", "above_cap") \
        else ""
    page = parse_int(request.args.get("page"))
    rows, total = market_view.markets(run, district=district, category=category, only=only,
                                      page=page)
    districts, categories = market_view.districts_and_categories(run)
    return render_template(
        "markets/index.html", run=run, rows=rows, total=total, page=page,
        per_page=market_view.PAGE_SIZE, district=district, category=category, only=only,
        districts=districts, categories=categories,
        recent=market_view.runs(council_settings.current().market_history_runs),
        steering=market_view.steering_rows(run, findings_only=True), title="Markets")


@bp.get("/<district>/<category>")
@requires(Permission.MARKET_VIEW)
def market(district: str, category: str):
    run = _run()
    if run is None:
        abort(404)
    detail = market_view.market(run, district.upper()[:8], category[:40],
                                council_settings.current().market_history_runs)
    points = [(r.as_of.strftime("%-d %b %Y"), f.hhi if f is not None else None)
              for r, f in detail.history]
    return render_template(
        "markets/market.html", detail=detail, run=run,
        chart=concentration_chart(points, run.hhi_line),
        title=f"{category_label(detail.figure.category)} for people in {detail.figure.district}")


@bp.get("/steering")
@requires(Permission.MARKET_VIEW)
def steering():
    run = _run()
    if run is None:
        abort(404)
    return render_template("markets/steering.html", run=run,
                           rows=market_view.steering_rows(run),
                           limit=market_view.STEERING_ROWS_SHOWN, title="Broker steering")


@bp.get("/providers/<int:provider_id>")
@requires(Permission.MARKET_VIEW)
def provider(provider_id: int):
    profile = db.session.get(ProviderProfile, provider_id)
    run = _run()
    if profile is None or run is None:
        abort(404)
    open_flags = list(db.session.scalars(
        select(Flag).where(Flag.provider_profile_id == provider_id).order_by(Flag.id.desc())
        .limit(20)))
    return render_template("markets/provider.html", run=run, profile=profile,
                           shares=market_view.provider_markets(run, provider_id),
                           flags=open_flags, title=f"{profile.display_name} in the markets")


@bp.get("/districts")
@requires(Permission.MARKET_VIEW)
def districts_to_check():
    # Districts recorded before they were checked: the plain ones are corrected by
    # `carefair brokerage districts`; what is left needs a person to find out the real one.
    return render_template("markets/districts.html", entries=district_check.districts_to_check(),
                           title="Districts to check")


@bp.get("/markets.csv")
@requires(Permission.MARKET_VIEW)
def download():
    run = _run()
    if run is None:
        abort(404)
    return csv_response(f"markets-{run.as_of:%Y-%m-%d}-run-{run.id}.csv", market_view.CSV_HEADER,
                        market_view.csv_rows(run))


@bp.get("/steering.csv")
@requires(Permission.MARKET_VIEW)
def download_steering():
    run = _run()
    if run is None:
        abort(404)
    return csv_response(f"steering-{run.as_of:%Y-%m-%d}-run-{run.id}.csv",
                        market_view.STEERING_CSV_HEADER, market_view.steering_csv_rows(run))


@bp.post("/scan")
@requires(Permission.MARKET_VIEW)
def scan():
    result = brokerage.request_scan(current_user)
    if result is None:
        flash("There is a lot to measure, so the markets will be measured again within five "
              "minutes. Come back to this page then to see the new scan.", "success")
    else:
        flash(f"The markets were measured again: {result.filed} new flag"
              f"{'s' if result.filed != 1 else ''} filed.", "success")
    return redirect(url_for(".index"))
