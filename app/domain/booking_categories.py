"""Which support-plan spending category a booking of a listing is paid from."""

from __future__ import annotations

# Listing categories describe the service; plan categories describe the spending the council
# agreed. A personal assistant's time is "personal_assistant" whatever the task (design.md:
# weekly PA support is the common case), except transport, which plans budget separately.
_BY_LISTING_CATEGORY = {
    "personal_care": "personal_care",
    "help_at_home": "personal_assistant",
    "getting_out": "community_activities",
    "employment_support": "day_opportunities",
    "learning": "day_opportunities",
    "transport": "transport",
    "short_breaks": "respite",
    "peer_support": "mental_health_support",
    "wellbeing": "mental_health_support",
    "advocacy": "other",
    "money_management": "other",
}
PA_TYPES = frozenset({"self_employed_pa", "employed_pa"})


def plan_category_for(listing_category: str, provider_type: str) -> str:
    if provider_type in PA_TYPES and listing_category != "transport":
        return "personal_assistant"
    return _BY_LISTING_CATEGORY.get(listing_category, "other")
