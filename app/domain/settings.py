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
    hhi_rise_flag: int = 100  # with a provider at the share cap, this rise is presumptively harmful
    steering_min_share_percent: int = 50
    # A broker's share of mediated spend to one provider against that provider's market share.
    steering_share_multiple: int = 2
    price_outlier_min_peers: int = 5
    # A floor on the MAD (percent of the peer median): a tight group must not flag normal prices.
    # Set from published rates (app/domain/rules/rate_evidence.py): 7% keeps the Homecare
    # Association's Minimum Price and weekend PA rates from flagging against ordinary ones.
    price_mad_floor_percent: int = 7
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
    # A market is a holder's postcode district x category, by spend over this rolling window;
    # its trend compares it with the window before.
    market_window_days: int = 90
    # A market's figures mean something only with this much spend, this many holders choosing
    # and this many providers: one provider alone is a thin market (the market view shows it),
    # which a share cap cannot fix, so it is not a concentration finding.
    market_min_spend_pence: int = 100_000
    market_min_holders: int = 5
    market_min_providers: int = 2
    # Whether search shows providers above the share cap less prominently in that market.
    share_cap_dampens_search: bool = True
    # Steering counts people: a finding needs this many distinct holders the broker arranged
    # support for in the market, and a one-sided binomial test below this significance level.
    steering_min_holders: int = 5
    steering_significance: float = 0.01
    # How many past scans the market view's trend chart and table show.
    market_history_runs: int = 12

    # Safeguarding (issue 16: concerns, households, price history, messages).
    # Complaints about one provider from this many different holders within the window flag it.
    repeated_complaints_min_holders: int = 3
    complaint_window_days: int = 180
    # A new authorised or nominated person: how far back the scan looks for one, and how long
    # after they started their new spending still counts as following it (look-back to cause).
    new_delegate_lookback_days: int = 180
    new_delegate_follow_days: int = 120
    # At-risk concentration: one-sided binomial test of a provider's at-risk clients against the
    # market's share; below this p-value the share is "far beyond" chance (1 in 100).
    at_risk_significance: float = 0.01
    # A rise for existing clients needs at least this much notice (days), told to them first.
    price_rise_notice_days: int = 28
    # A holder's spending rise is explained by an agreed plan increase when it stays within the
    # increase (pro rata for the period) plus this margin.
    plan_increase_margin_percent: int = 10

    # Time (issue 20: expiry, reminders, bank holidays, hour caps).
    # All periods are real elapsed hours (UTC), so a clock change never adds or loses an hour.
    # A request the provider has not answered expires this many days after it was made ...
    request_expiry_days: int = 3
    # ... or this many hours before its first session, whichever comes first: a provider who
    # accepts at the last minute leaves the holder no time to arrange anyone else.
    request_expiry_before_start_hours: int = 12
    # The provider is reminded this long before the request expires ("a day before").
    request_reminder_hours_before_expiry: int = 24
    # A booking waiting for a broker: brokers are reminded after this long, and a council admin
    # is told after this long (it still expires before its first session, like any request).
    approval_reminder_hours: int = 24
    approval_escalation_hours: int = 72
    # Reminders before a visit go out this long before it starts (the day before).
    visit_reminder_hours: int = 24
    # A provider who has not recorded a session this long after it ended is reminded (once).
    record_reminder_hours: int = 24
    # Bank holidays: which nation's list applies (the `holidays` package's UK subdivision:
    # ENG and WLS share England and Wales's list; SCT is Scotland, NIR Northern Ireland).
    bank_holiday_region: str = "ENG"
    # How many similar providers the holder is offered when a request expires.
    expiry_alternatives: int = 3

    # Agreements, job posts, cover and the funding horizon (issue 18).
    job_notice_batch: int = 10  # matching providers told about a job per turn
    job_notice_turn_hours: int = 24  # the next turn goes out after this long ...
    job_enough_replies: int = 5  # ... unless this many providers have already said they are interested
    job_max_open_per_holder: int = 5
    agreement_max_notice_days: int = 28  # notice to end an agreement; longer is lock-in
    agreement_rate_change_notice_days: int = 28  # a rate rise reaches existing clients after this
    agreement_max_cancellation_notice_hours: int = 48
    agreement_max_prepayment_weeks: int = 4
    agreement_offer_lapse_days: int = 14  # an offered agreement nobody answers lapses
    # Last-minute cover: a provider's cancellation of a session starting within this many hours
    # asks the holder's named back-ups to cover it, then (after cover_backup_minutes with nobody
    # accepted) up to cover_wave_size other matching providers.
    cover_short_notice_hours: int = 48
    cover_backup_minutes: int = 60
    cover_wave_size: int = 10
    # Regular support is funded as money arrives: a weekly series holds only the sessions starting
    # within this many weeks; a daily job holds the next ones as instalments arrive, tells the
    # holder's side and brokers when one entering the period cannot be funded, and calls off a
    # session still unfunded this many hours before it starts (nothing is charged for it).
    funding_horizon_weeks: int = 4
    funding_call_off_hours: int = 24
    # A card-paid series is authorised on the card as each session is held; card authorisations
    # lapse after about seven days (Stripe), so its window is this many days when shorter.
    card_authorise_days: int = 6

    # Payments and the ledger (issue 13: outbox, reconciliation).

    # Journeys (issue 17: free slots to book from, the home address for a home visit).
    free_slot_min_notice_hours: int = 24  # the earliest free slot offered starts this far ahead
    free_slot_days_ahead: int = 28  # how far ahead free slots are offered
    free_slot_travel_buffer_minutes: int = 30  # kept clear either side of a booked visit
    free_slot_step_minutes: int = 30  # slots start on the hour and half hour
    address_visible_hours_after: int = 12  # the provider still sees it this long after the last visit
