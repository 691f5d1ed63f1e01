"""The council settings: rates, rule thresholds and what each finding leads to (plain Python).

They live in the domain so that rules, bookings and ratings read them without Flask
(app.config re-exports them for the app). Each issue's settings have their own section below;
add new settings to your section with a default from design.md and a comment saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CouncilSettings:
    """Defaults from design.md; each council changes them (all money in integer pence)."""

    council_name: str = "Demo Borough Council"
    national_living_wage_pence_per_hour: int = 1271  # April 2026
    employed_pa_rate_pence_per_hour: int = 1175
    self_employed_pa_rate_pence_per_hour: int = 1600
    agency_cap_pence_per_hour: int = 2469
    agency_minimum_price_pence_per_hour: int = 3214
    contingency_weeks_default: int = 4
    dbs_max_age_days_without_update_service: int = 3 * 365
    # Days before a required check runs out that its provider is warned (one warning a stage).
    vetting_warning_days: tuple[int, ...] = (30, 7)
    auto_confirm_hours: int = 72
    booking_approval_weeks_of_budget: int = 4
    provider_share_cap_percent: int = 30
    hhi_highly_concentrated: int = 1800
    price_outlier_modified_z: float = 3.5  # a statistic threshold, not money
    # Listings: prices beyond these are refused as mistakes (per hour, session, day).
    max_price_pence: dict[str, int] = field(
        default_factory=lambda: {"hour": 20_000, "session": 50_000, "day": 150_000})
    # Pricing guidance for categories without a PA or agency rate (per hour).
    indicative_rates_pence_per_hour: dict[str, int] = field(default_factory=lambda: {
        "personal_care": 2469, "help_at_home": 1800, "getting_out": 1600,
        "employment_support": 2500, "learning": 2000, "transport": 1500,
        "short_breaks": 2200, "peer_support": 1200, "wellbeing": 3000, "advocacy": 3000,
        "money_management": 2500})
    photo_max_bytes: int = 2 * 1024 * 1024

    # Bookings (app/domain/bookings.py and friends).
    auto_confirm_notice_hours: int = 24  # the holder is told this long before hours auto-confirm
    max_recurring_sessions: int = 200  # three sessions a week for a year fits; more is a mistake
    max_recurring_weeks: int = 52
    # Brokerage rules (app/domain/rules): every threshold a council may change.
    rule_window_days: int = 90  # the rolling window most rules look back over
    concentration_min_bookings: int = 10  # too few bookings in a market says nothing about it
    hhi_rise_flag: int = 100  # with a provider at the share cap, this rise is presumptively harmful
    steering_min_bookings: int = 5
    steering_min_share_percent: int = 50
    # A broker's share of mediated spend to one provider against that provider's market share.
    steering_share_multiple: int = 2
    price_outlier_min_peers: int = 5
    # A floor on the MAD (percent of the peer median): a tight group must not flag normal prices.
    price_mad_floor_percent: int = 5
    price_mad_floor_pence: int = 50
    rate_rise_flag_percent: int = 10
    billing_tolerance_minutes: int = 15
    spend_spike_period_days: int = 28
    spend_spike_history_periods: int = 3
    spend_spike_multiple: int = 2
    spend_spike_min_increase_pence: int = 20000
    new_delegate_watch_days: int = 60
    new_delegate_min_spend_pence: int = 10000
    at_risk_min_clients: int = 3
    at_risk_share_percent: int = 50
    at_risk_share_multiple: int = 2
    at_risk_price_premium_percent: int = 20
    low_dignity_score: int = 2  # on the 1 to 5 scale, this or lower is a low rating
    low_dignity_count: int = 3
    review_window_days: int = 180
    review_burst_count: int = 5
    review_burst_days: int = 7
    review_burst_multiple: int = 3  # the burst against the provider's usual weekly rate
    # What happens to a finding of each severity: advise, flag, hold, block or suspend.
    action_for_low: str = "advise"
    action_for_medium: str = "flag"
    action_for_high: str = "hold"
    action_for_critical: str = "suspend"
    # Per-rule overrides as (rule name, action) pairs: a tuple keeps the settings hashable.
    rule_action_overrides: tuple[tuple[str, str], ...] = ()
    # Ratings (app/domain/ratings.py).
    rating_prior_weight: int = 5  # as if each provider began with five reviews at the category mean
    rating_prior_mean_default: float = 3.0  # the scale's midpoint, while a category has no reviews

    # Markets and steering (issue 15: holder districts, market view, settings page).

    # Safeguarding (issue 16: concerns, households, price history, messages).

    # Time (issue 20: expiry, reminders, bank holidays, hour caps).

    # Agreements, job posts, cover and the funding horizon (issue 18).

    # Payments and the ledger (issue 13: outbox, reconciliation).

    # Journeys (issue 17: free slots to book from, the home address for a home visit).
    free_slot_min_notice_hours: int = 24  # the earliest free slot offered starts this far ahead
    free_slot_days_ahead: int = 28  # how far ahead free slots are offered
    free_slot_travel_buffer_minutes: int = 30  # kept clear either side of a booked visit
    free_slot_step_minutes: int = 30  # slots start on the hour and half hour
    address_visible_hours_after: int = 12  # the provider still sees it this long after the last visit
