"""Raising a concern about a provider (anyone, the public without an account) and following it."""

from __future__ import annotations

import re

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.errors import InvalidInput
from app.extensions import limiter
from app.services import concerns as concern_service
from app.web.auth.account import bp as account_bp
from app.web.context import acting, public, requires
from app.web.helpers import attach_error
from app.web.public import bp
from app.web.public.concern_forms import ConcernForm

_FROM = re.compile(r"^(booking|message|listing|provider|flag|holder):[0-9]{1,10}$")


def _holder_id() -> int | None:
    """The holder the concern is about: from the link (a booking or message), else the holder
    whose account the signed-in person is working on."""
    raw = request.values.get("holder", "")
    if raw.isdigit():
        return int(raw)
    ctx = acting()
    return ctx.holder.id if ctx.holder is not None else None


@bp.route("/providers/<int:profile_id>/concern", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@public
def raise_concern(profile_id: int):
    actor = current_user if current_user.is_authenticated else None
    holder_id = _holder_id() if actor is not None else None
    profile = concern_service.provider_for_concern(actor, profile_id, holder_id)
    raised_from = request.values.get("from", "")
    raised_from = raised_from if _FROM.match(raised_from) else f"provider:{profile.id}"
    form = ConcernForm()
    if request.method == "GET" and request.args.get("kind") in ("safeguarding", "complaint",
                                                                "fraud"):
        form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            concern = concern_service.raise_concern(actor, profile.id, concern_service.ConcernInput(
                kind=form.kind.data, harm=form.harm.data, details=form.details.data or "",
                holder_id=holder_id, raised_from=raised_from,
                reporter_name=form.reporter_name.data or "",
                reporter_email=form.reporter_email.data or "",
                reporter_phone=form.reporter_phone.data or ""))
        except InvalidInput as err:
            attach_error(form, err)
        else:
            if actor is None:
                return redirect(url_for("public.concern_received", ref=concern.reference))
            return redirect(url_for("account.concern", concern_id=concern.id, new=1))
    return render_template("concerns/raise.html", form=form, profile=profile,
                           holder_id=holder_id, raised_from=raised_from, signed_in=actor is not None,
                           title=f"Raise a concern about {profile.display_name}")


@bp.get("/concerns/received")
@public
def concern_received():
    ref = request.args.get("ref", "")
    return render_template("concerns/received.html",
                           reference=ref if re.fullmatch(r"C-[0-9]{1,10}", ref) else None,
                           title="We have received your concern")


@account_bp.get("/concerns")
@requires(Permission.SIGNED_IN)
def concerns():
    return render_template("concerns/mine.html", concerns=concern_service.raised_by(current_user),
                           title="Concerns you have raised")


@account_bp.get("/concerns/<int:concern_id>")
@requires(Permission.SIGNED_IN)
def concern(concern_id: int):
    return render_template("concerns/mine_one.html",
                           concern=concern_service.raised_by_one(current_user, concern_id),
                           new=request.args.get("new") == "1", title="Your concern")
