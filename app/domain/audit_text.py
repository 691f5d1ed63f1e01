"""Audit events in words a council officer can read: "Booking: settled", "Money taken: £32.00"."""

from __future__ import annotations

from collections.abc import Mapping

from app.domain.money_format import format_pence

# Detail keys whose plain name is not just the key with spaces.
_NAMES = {
    "capture_id": "Money taken (ledger transaction)",
    "hold_id": "Money held (ledger transaction)",
    "payment_id": "Card payment",
    "booking_id": "Booking",
    "listing_id": "Listing",
    "profile_id": "Provider profile",
    "provider_profile_id": "Provider profile",
    "report_id": "Report",
    "reply_id": "Reply",
    "session": "Visit",
    "sessions": "Visits",
    "how": "How",
    "by": "Done by",
    "to": "To",
    "from": "From",
    "no_show_by": "Did not turn up",
    "charges": "Charges",
    "holds": "Money held",
    "to_contingency": "Into the contingency reserve",
    "signed": "Amount",
}
# Coded values, said in words (booking events, who acted).
_VALUES = {
    "confirm": "confirmed by the holder's side",
    "auto_confirm": "confirmed automatically after the notice period",
    "cosign": "co-signed by a broker",
    "holder": "the budget holder",
    "delegate": "someone acting for the budget holder",
    "provider": "the provider",
    "broker": "a broker",
    "system": "Carefair (automatic)",
}


def action_label(action: str) -> str:
    """"booking.funds_held" reads "Booking: funds held"."""
    area, _, what = action.partition(".")
    area = area.replace("_", " ").capitalize()
    return f"{area}: {what.replace('_', ' ').replace('.', ' ')}" if what else area


def _name(key: str) -> str:
    if key in _NAMES:
        return _NAMES[key]
    bare = key.removesuffix("_pence").removesuffix("_id")
    return _NAMES.get(bare, bare.replace("_", " ").capitalize())


def _value(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if key.endswith("_pence") and isinstance(value, int):
        return format_pence(value)
    if key in ("charges", "holds") and isinstance(value, Mapping):
        return "; ".join(f"visit {k}: {format_pence(v) if isinstance(v, int) else v}"
                         for k, v in value.items()) or "none"
    if isinstance(value, Mapping):
        return "; ".join(f"{_name(str(k))}: {_value(str(k), v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return ", ".join(_value(key, v) for v in value) or "none"
    if isinstance(value, str):
        return _VALUES.get(value, value)
    return str(value)


def readable_details(details: Mapping[str, object] | None) -> list[tuple[str, str]]:
    """Each detail as (name, value) in words; empty values left out."""
    return [(_name(k), _value(k, v)) for k, v in (details or {}).items()
            if v is not None and v != "" and v != [] and v != {}]
