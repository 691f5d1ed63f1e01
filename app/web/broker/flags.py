"""Broker console: brokerage-rule flags, their evidence, and dismissing or upholding them."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.domain.flags import FlagStatus, Outcome
from app.domain.rules.model import Severity
from app.errors import DomainError
from app.services import flags as flag_service
from app.services import restrictions, staff_views
from app.web.broker import bp
from app.web.context import requires
from app.web.helpers import attach_error, parse_int
from app.web.messaging_forms import DismissForm, LiftForm, UpholdForm

# Evidence stores ids (the rules see only numbers); brokers need to see who they are.
_PEOPLE_IN_EVIDENCE = {"holder_id": "Holder", "author_user_id": "Written by",
                       "delegate_user_id": "Person acting for the holder"}
_PROVIDERS_IN_EVIDENCE = {"provider_id": "Provider", "top_provider_id": "Largest provider"}


def _evidence_names(evidence: dict) -> dict[str, tuple[str, str]]:
    """For each id in a flag's evidence, the label and the name of who it is."""
    from app.extensions import db
    from app.models import ProviderProfile, User

    named: dict[str, tuple[str, str]] = {}
    for key, value in evidence.items():
        if not isinstance(value, int):
            continue
        if key in _PEOPLE_IN_EVIDENCE:
            user = db.session.get(User, value)
            named[key] = (_PEOPLE_IN_EVIDENCE[key], user.name if user else f"Account {value} (removed)")
        elif key in _PROVIDERS_IN_EVIDENCE:
            profile = db.session.get(ProviderProfile, value)
            named[key] = (_PROVIDERS_IN_EVIDENCE[key],
                          profile.display_name if profile else f"Provider {value} (removed)")
    return named


# Evidence keys whose stored name means nothing to a broker, in words (what the number is).
_EVIDENCE_LABELS = {
    "hhi": "Concentration index (above 1,800 is highly concentrated)",
    "p_value": "Chance of a difference this large by luck",
    "modified_z": "How far from the usual price (robust z-score; above 3.5 is unusual)",
    "mad_pence": "Usual spread of prices",
    "concern_id": "Concern",
    "top_share_percent": "Largest provider's share",
    "share_percent": "Share",
    "market_share_percent": "Share of the market",
    "broker_share_percent": "Share of this broker's arrangements",
    "at_risk_share_percent": "Share of people at risk",
    "price_premium_percent": "Above the usual price by",
    "rise_percent": "Rise",
    "holders": "People supported",
    "providers": "Providers",
    "holders_to_provider": "People who went to the provider",
    "total_spend_pence": "Total spending",
    "spend_pence": "Spending",
}


def _chance(p_value: float) -> str:
    for n in (1_000_000, 100_000, 10_000, 1_000, 100):
        if p_value < 1 / n:
            return f"less than 1 time in {n:,}"
    return f"about {p_value:.0%}" if p_value >= 0.01 else "less than 1 time in 100"


def _evidence_rows(evidence: dict) -> list[tuple[str, str]]:
    """The numbers behind a flag as (label, value) a broker can read: people and providers by
    name, categories by their label, shares as percentages and money in pounds."""
    from app.domain.money import Money
    from app.web.broker.markets import category_label

    named = _evidence_names(evidence)
    rows = []
    for key, value in evidence.items():
        if key in named:
            rows.append(named[key])
            continue
        label = _EVIDENCE_LABELS.get(key) or key.removesuffix("_pence").replace("_", " ") \
            .capitalize()
        if key == "category" and isinstance(value, str):
            shown = category_label(value)
        elif key == "concern_id" and isinstance(value, int):
            shown = f"C-{value}"
        elif key == "p_value" and isinstance(value, (int, float)):
            shown = _chance(float(value))
        elif key.endswith("_percent") and isinstance(value, (int, float)):
            shown = f"{value:g}%"
        elif key.endswith("_pence") and isinstance(value, (int, float)):
            shown = str(Money(round(value)))
        elif key == "hhi" and isinstance(value, (int, float)):
            shown = f"{round(value):,}"
        elif isinstance(value, bool):
            shown = "Yes" if value else "No"
        elif isinstance(value, str):
            shown = value.replace("_", " ")
        elif isinstance(value, list):
            shown = ", ".join(str(v).replace("_", " ") for v in value) or "None"
        else:
            shown = str(value)
        rows.append((label, shown))
    return rows


def _subject(flag) -> str | None:
    """What a broker- or market-level flag is about, in words (None: the template links it)."""
    from app.extensions import db
    from app.models import User
    from app.web.broker.markets import category_label

    if flag.subject_kind == "broker" and str(flag.subject_id).isdigit():
        broker = db.session.get(User, int(flag.subject_id))
        return f"Broker {broker.name}" if broker else f"Broker account {flag.subject_id}"
    if flag.subject_kind == "market" and "/" in str(flag.subject_id):
        district, category = str(flag.subject_id).split("/", 1)
        return f"The market for {category_label(category).lower()} in {district}"
    return None


def _choice(enum, raw: str | None, default=None):
    try:
        return enum(raw) if raw else default
    except ValueError:
        return default


@bp.get("/flags")
@requires(Permission.BROKER_AREA)
def flags():
    # "all" shows every status; no status chosen means open flags, the work to do.
    raw_status = request.args.get("status")
    status = None if raw_status == "all" else _choice(FlagStatus, raw_status, FlagStatus.OPEN)
    severity = _choice(Severity, request.args.get("severity"))
    page = parse_int(request.args.get("page"))
    rows, total = flag_service.flags_matching(status, severity, page=page)
    return render_template("broker/flags.html", flags=rows, total=total, page=page,
                           per_page=flag_service.PER_PAGE, status=status, severity=severity,
                           statuses=list(FlagStatus), severities=list(Severity), title="Flags")


def _render_flag(flag, dismiss_form=None, uphold_form=None, lift_form=None, status=200):
    restriction = restrictions.restriction_of(flag.provider_profile_id) \
        if flag.provider_profile_id else None
    failed = dismiss_form or uphold_form or lift_form  # shown in the page's error summary
    return render_template("broker/flag.html", flag=flag, form=failed,
                           dismiss_form=dismiss_form or DismissForm(prefix="dismiss"),
                           uphold_form=uphold_form or UpholdForm(prefix="uphold"),
                           lift_form=lift_form or LiftForm(prefix="lift"),
                           restriction=restriction, referrals=flag_service.referrals_of(flag),
                           message=staff_views.message_behind(flag),
                           gathered=staff_views.messages_gathered_by(flag),
                           outcomes=list(Outcome), evidence_rows=_evidence_rows(flag.evidence or {}),
                           subject=_subject(flag),
                           cannot_decide=flag_service.why_broker_cannot_decide(current_user, flag),
                           title=f"Flag {flag.reference}"), status


@bp.get("/flags/<int:flag_id>")
@requires(Permission.BROKER_AREA)
def flag(flag_id: int):
    return _render_flag(flag_service.get_flag(flag_id))


@bp.post("/flags/<int:flag_id>/dismiss")
@requires(Permission.BROKER_AREA)
def dismiss_flag(flag_id: int):
    item = flag_service.get_flag(flag_id)
    form = DismissForm(prefix="dismiss")
    if form.validate_on_submit():
        try:
            flag_service.dismiss(current_user, item.id, reason=form.reason.data)
        except DomainError as err:
            attach_error(form, err, default_field="reason")
        else:
            flash(f"Flag {item.reference} dismissed.", "success")
            return redirect(url_for("broker.flags"))
    return _render_flag(item, dismiss_form=form, status=400)


@bp.post("/flags/<int:flag_id>/uphold")
@requires(Permission.BROKER_AREA)
def uphold_flag(flag_id: int):
    item = flag_service.get_flag(flag_id)
    form = UpholdForm(prefix="uphold")
    if form.validate_on_submit():
        try:
            flag_service.uphold(current_user, item.id, outcome=form.outcome.data,
                                reason=form.reason.data)
        except DomainError as err:
            attach_error(form, err, default_field="outcome")
        else:
            flash(f"Flag {item.reference} upheld: {Outcome(form.outcome.data).label}.", "success")
            return redirect(url_for("broker.flag", flag_id=item.id))
    return _render_flag(item, uphold_form=form, status=400)


@bp.post("/flags/<int:flag_id>/lift")
@requires(Permission.BROKER_AREA)
def lift_restriction(flag_id: int):
    item = flag_service.get_flag(flag_id)
    form = LiftForm(prefix="lift")
    if form.validate_on_submit() and item.provider_profile_id is not None:
        try:
            restrictions.lift(current_user, item.provider_profile_id, reason=form.lift_reason.data)
        except DomainError as err:
            attach_error(form, err, default_field="lift_reason")
        else:
            flash("The provider's listings can show again and payouts are no longer held.",
                  "success")
            return redirect(url_for("broker.flag", flag_id=item.id))
    return _render_flag(item, lift_form=form, status=400)
