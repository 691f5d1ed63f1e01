"""Builders for job post and shortlist tests: vetted providers with chosen districts and ways."""

from __future__ import annotations

from app.domain.access import Role
from app.services import jobs, providers
from tests.provider_helpers import profile_input, verified_provider


def provider_in(make_user, broker, *, name="Maria Example", districts="LS6, LS7", price="16.50",
                languages=("English",), gender="Woman", category=None):
    """A vetted provider with one live hourly listing, working in `districts`."""
    from app.domain.listings import Category

    user, listing = verified_provider(make_user, broker, category=category or Category.PERSONAL_CARE,
                                      price=price)
    providers.save_profile(user, profile_input(display_name=name, districts=districts,
                                               languages=list(languages), gender=gender))
    return user, listing


def job_input(**overrides) -> jobs.JobInput:
    values = dict(category="personal_care", district="LS6", title="Help getting up in the morning",
                  when="Weekday mornings", hours_per_week=6, max_rate_pence=1800)
    values.update(overrides)
    return jobs.JobInput(**values)


def broker_of(make_user):
    return make_user(Role.BROKER)
