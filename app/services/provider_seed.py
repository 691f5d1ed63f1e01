"""Loads seed/providers.json through the services: profiles, listings, evidence and decisions."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from app.domain.access import Role
from app.domain.listings import Category, parse_slots
from app.domain.vetting import CheckKind, ProviderType, merge_requirements, required_checks
from app.services import accounts, demo_seed, listings, providers, vetting

_REJECTION = "The certificate number does not match the record on the DBS Update Service."


def _evidence(kind: CheckKind, n: int, seq: int, base: date, dbs_issued: date,
              update_service: bool) -> vetting.EvidenceInput:
    if kind is CheckKind.DBS:
        return vetting.EvidenceInput(kind, f"{1000_0000_0000 + seq * 7919:012d}",
                                     issued_on=dbs_issued, update_service=update_service)
    if kind is CheckKind.CQC:
        return vetting.EvidenceInput(kind, f"1-{100_000_000 + seq * 104_729}")
    if kind is CheckKind.INSURANCE:
        return vetting.EvidenceInput(kind, f"PL-{40000 + seq}", details="Insurer: Marches Mutual; "
                                     "cover £5 million", issued_on=base - timedelta(days=100),
                                     expires_on=base + timedelta(days=265))
    if kind is CheckKind.REFERENCE:
        who = ["Janet Price", "Revd. David Lloyd"][n % 2]
        return vetting.EvidenceInput(kind, who, details="01743 555 0" + f"{seq % 100:02d}; "
                                     + ["former employer", "known them for 10 years"][n % 2])
    if kind is CheckKind.RIGHT_TO_WORK:
        return vetting.EvidenceInput(kind, "UK passport seen", details="Checked in person")
    return vetting.EvidenceInput(kind, "Care Certificate", details="Skills for Care",
                                 issued_on=base - timedelta(days=500))


def _seed_vetting(user, profile, row: dict, seq: int, broker) -> None:
    today = date.today()
    state = row["vetting"]
    base = today - timedelta(days=380) if state == "expired" else today
    dbs_issued = base - timedelta(days=200)
    if state == "dbs_old":
        dbs_issued = today - timedelta(days=4 * 365)
        base = dbs_issued + timedelta(days=300)
    needed = merge_requirements(*(required_checks(ProviderType(row["type"]), Category(item["category"]))
                                  for item in row["listings"]))
    for kind, count in needed.items():
        for n in range(count):
            ev = _evidence(kind, n, seq, base, dbs_issued, update_service=seq % 3 == 0
                           and state != "dbs_old")
            if state == "dbs_old" and kind is CheckKind.INSURANCE:
                ev = vetting.EvidenceInput(kind, ev.reference, ev.details, issued_on=base,
                                           expires_on=today + timedelta(days=200))
            check = vetting.record_evidence(user, ev, on=base)
            if kind is CheckKind.DBS and state == "pending":
                continue
            if kind is CheckKind.DBS and state == "rejected":
                vetting.decide(broker, check.id, approve=False, reason=_REJECTION, on=base)
                continue
            vetting.decide(broker, check.id, approve=True, on=base)


def load_providers(seed_dir: Path) -> None:
    data = json.loads((seed_dir / "providers.json").read_text())
    broker = accounts.find_by_email(data["broker"])
    for seq, row in enumerate(data["providers"], start=1):
        user = accounts.find_by_email(row["email"])
        if user is None:
            user = accounts.sign_up(row["email"], row["name"], data["demo_password"], Role.PROVIDER,
                                    password_hash=demo_seed.demo_password_hash(data["demo_password"]))
        if providers.profile_of(user) is not None:
            continue  # already seeded
        providers.save_profile(user, providers.ProfileInput(
            provider_type=row["type"], display_name=row["display_name"], about=row["about"],
            languages=row["languages"], gender=row.get("gender"), specialisms=row["specialisms"],
            districts=", ".join(row["districts"]), venue_accessibility=row.get("venue_accessibility", "")))
        providers.set_availability(user, parse_slots("\n".join(row["slots"])))
        for item in row["listings"]:
            listings.create_listing(user, listings.ListingInput(
                category=item["category"], title=item["title"], description=item["description"],
                price=item["price"], price_unit=item["unit"], minimum_units=item["minimum_units"],
                travel_charge=item["travel"], cancellation_notice_hours=item["notice_hours"],
                cancellation_charge=item["cancellation_charge"], funding_modes=item["funding_modes"]))
        _seed_vetting(user, providers.profile_of(user), row, seq, broker)
