"""Importing holders and providers: accounts without a password, provider profiles and a first listing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.domain.access import Role
from app.domain.districts import parse_home_district
from app.domain.errors import Conflict, DomainError, InvalidInput, InvariantBroken
from app.domain.listings import Category, DistrictError, FundingMode
from app.domain.vetting import ProviderType, listing_visibility
from app.extensions import db
from app.models import AuditEvent, ImportedRecord, Listing, ProviderDistrict, ProviderProfile, User
from app.services import accounts, audit, council_settings, listings, providers, vetting
from app.services.imports import (
    Checked,
    Written,
    among,
    audit_row,
    begin_row,
    referenced,
)
from app.services.imports.bulk import rows_into
from app.signals import send_listing_changed

YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}


def _email(row: dict, c: Checked) -> str | None:
    try:
        return accounts.normalise_email(row.get("email") or "")
    except DomainError as err:
        c.fail("email", err.message)
        return None


def _name(row: dict, c: Checked) -> str:
    try:
        return accounts.clean_name(row.get("name") or "")
    except DomainError as err:
        c.fail("name", "Enter the person's name" if not (row.get("name") or "").strip() else err.message)
        return ""


def _flag(row: dict, name: str, c: Checked) -> bool:
    value = (row.get(name) or "").strip().lower()
    if value in YES:
        return True
    if value not in NO:
        c.fail(name, f"Enter yes or no for {name.replace('_', ' ')}.")
    return False


class _People:
    """What holders and providers share: a reference, an email nobody else has, a name."""

    kind = ""
    role = Role.HOLDER
    required: tuple[str, ...] = ()
    batch_size = 500
    tables: tuple[str, ...] = ("users",)  # what the checks look up, besides the references
    columns: tuple[str, ...] = ("reference", "email", "name")  # every column it reads

    def start_pass(self) -> None:
        self.emails: set[str] = set()
        self.changed: list[int] = []  # live listings written, for search after the commit
        self.settings = council_settings.current()  # once a pass: the same for every row

    def check(self, rows: list[tuple[int, dict]]) -> list[Checked]:
        out: list[Checked] = []
        for line, row in rows:
            c, _ = begin_row(line, row, self.required)
            ref = c.reference
            email = _email(row, c)
            clean = {"email": email, "name": _name(row, c)}
            self.check_more(row, c, clean)
            if ref is not None:
                c.clean = clean
            out.append(c)
        refs = referenced(self.kind, [c.reference for c in out if c.reference])
        fresh = [c for c in out if c.reference not in refs and c.clean and c.clean["email"]]
        taken = set(db.session.scalars(select(User.email).where(
            among(User.email, [c.clean["email"] for c in fresh if c.clean]))))
        for c in out:
            if c.reference in refs:
                c.unchanged, c.errors = True, []
            elif c.clean and c.clean["email"]:
                email = c.clean["email"]
                if email in taken:
                    c.fail("email", f"An account with the email {email} already exists.")
                elif email in self.emails:
                    c.fail("email", f"The email {email} is on an earlier line of this file.")
                self.emails.add(email)
        return out

    def check_more(self, row: dict, c: Checked, clean: dict) -> None:
        pass

    def write(self, rows: list[Checked], actor: User) -> Written:
        """The batch in one transaction, a few statements for all its rows: the accounts, what
        each kind adds, the references and the audit events. The rows were checked with the
        account rules (normalise_email, names) and no email was taken when checked; should one
        be taken since, the unique index refuses the batch and nothing of it is written."""
        now = datetime.now(UTC)
        users = [{"email": c.clean["email"], "name": c.clean["name"], "role": self.role.value,
                  "password_hash": None,  # nosec B105 - no password yet: they choose one by a reset link
                  "active": True, "at_risk": bool(c.clean.get("at_risk")),
                  "home_district": c.clean.get("home_district"), "created_at": now}
                 for c in rows if c.clean]
        try:
            user_ids = rows_into(User, users, returning_ids=True)
        except IntegrityError:
            db.session.rollback()
            return [(c, Conflict("An account with this email was created while the import ran. "
                                 "Run the import again.", field="email")) for c in rows]
        self.changed = []
        subjects = self.write_more(user_ids, rows, actor, now)
        rows_into(ImportedRecord, [
            {"kind": self.kind, "reference": c.reference, "subject_id": sid, "imported_at": now}
            for c, sid in zip(rows, subjects, strict=True)])
        rows_into(AuditEvent, [
            audit_row(now, actor, uid, f"{self.kind}.imported", "user", uid, {"reference": c.reference})
            for c, uid in zip(rows, user_ids, strict=True)])
        db.session.commit()
        if self.changed:
            send_listing_changed(self.changed)  # search is kept in sync after the commit
        return [(c, None) for c in rows]

    def write_more(self, user_ids: list[int], rows: list[Checked], actor: User, now: datetime) -> list[int]:
        """Write what the kind adds; returns the ids the references point at."""
        return user_ids



class Holders(_People):
    """Columns: reference, email, name, home_district (like LS6), at_risk (yes/no)."""

    kind = "holder"
    role = Role.HOLDER
    required = ()  # email and name: the account rules say what is missing
    columns = (*_People.columns, "home_district", "at_risk")

    def check_more(self, row: dict, c: Checked, clean: dict) -> None:
        district = (row.get("home_district") or "").strip()
        clean["home_district"] = None
        if district:
            try:
                clean["home_district"] = parse_home_district(district)
            except DistrictError as err:
                c.fail("home_district", str(err))
        clean["at_risk"] = _flag(row, "at_risk", c)


class Providers(_People):
    """Columns: reference, email, name, provider_type, districts, about, and a first listing:
    listing_category, listing_title, listing_price (pounds), listing_unit (hour, session, day),
    listing_funding_modes (blank: all). The listing is live only once a broker has verified the
    vetting its category needs, exactly as for a provider who signs up."""

    kind = "provider"
    role = Role.PROVIDER
    required = ("provider_type", "districts", "listing_category", "listing_title",
                "listing_price", "listing_unit")
    columns = (*_People.columns, "display_name", "provider_type", "districts", "about", "listing_category",
               "listing_title", "listing_description", "listing_price", "listing_unit", "listing_funding_modes")

    def check_more(self, row: dict, c: Checked, clean: dict) -> None:
        profile = providers.ProfileInput(
            provider_type=(row.get("provider_type") or "").strip(),
            display_name=(row.get("display_name") or row.get("name") or "").strip(),
            about=row.get("about") or "", districts=row.get("districts") or "")
        modes = (row.get("listing_funding_modes") or "").replace(",", " ").split() or \
            [m.value for m in FundingMode]
        listing = listings.ListingInput(
            category=(row.get("listing_category") or "").strip(), title=row.get("listing_title") or "",
            description=row.get("listing_description") or "", price=row.get("listing_price") or "",
            price_unit=(row.get("listing_unit") or "").strip(), funding_modes=modes)
        # The same rules as the provider's own profile and listing forms.
        try:
            clean["values"] = providers._clean(profile)
        except InvalidInput as err:
            # The name shown defaults to the account's name: a missing name is reported once.
            if not (err.field == "display_name" and not profile.display_name and not clean["name"]):
                c.fail(err.field, err.message)
        try:
            clean["listing_values"] = listings._clean(listing, self.settings)
        except InvalidInput as err:
            c.fail("listing_" + err.field if err.field else None, err.message)

    def write_more(self, user_ids: list[int], rows: list[Checked], actor: User, now: datetime) -> list[int]:
        """Profiles, districts and listings. A new provider has no vetting evidence yet, so each
        listing's visibility is what the vetting rule (listing_visibility) says of no evidence:
        hidden until a broker verifies the checks its category needs."""
        profile_ids = rows_into(ProviderProfile, [
            {**{k: v for k, v in c.clean["values"].items() if k != "districts"}, "user_id": uid,
             "created_at": now, "updated_at": now} for c, uid in zip(rows, user_ids, strict=True) if c.clean],
            returning_ids=True)
        rows_into(ProviderDistrict, [
            {"profile_id": pid, "district": d}
            for c, pid in zip(rows, profile_ids, strict=True) if c.clean for d in c.clean["values"]["districts"]])
        settings, today = vetting._settings(), vetting.today()
        listings_rows, shown = [], []
        for c, pid in zip(rows, profile_ids, strict=True):
            if not (c.clean is not None):
                raise InvariantBroken("expected: c.clean is not None")
            values = c.clean["listing_values"]
            verdict = listing_visibility(ProviderType(c.clean["values"]["provider_type"]),
                                         Category(values["category"]), [], today, settings)
            live = bool(values["published"]) and verdict.live
            listings_rows.append({**values, "profile_id": pid, "is_live": live, "created_at": now, "updated_at": now})
            shown.append(live)
        listing_ids = rows_into(Listing, listings_rows, returning_ids=True)
        # The screens' own audit events (save_profile, create_listing), made for the provider
        # by the importing admin, a few statements for the whole batch.
        events = []
        for c, uid, pid, lid in zip(rows, user_ids, profile_ids, listing_ids, strict=True):
            if not (c.clean is not None):
                raise InvariantBroken("expected: c.clean is not None")
            profile, values = c.clean["values"], c.clean["listing_values"]
            events += [
                audit_row(now, actor, uid, "provider.profile_created", "provider_profile", pid,
                       {"provider_type": profile["provider_type"], "districts": profile["districts"]}),
                audit_row(now, actor, uid, "listing.created", "listing", lid,
                       {k: v for k, v in values.items() if k != "description"})]
        rows_into(AuditEvent, events)
        for listing_id, live in zip(listing_ids, shown, strict=True):
            if live:  # as refresh_visibility records a listing going live
                audit.record(actor, "listing.shown", "listing", listing_id, details={"reasons": [], "published": True})
        self.changed = [lid for lid, live in zip(listing_ids, shown, strict=True) if live]
        return profile_ids
