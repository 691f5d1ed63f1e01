"""Importing holders and providers: accounts without a password, provider profiles and a first listing."""

from __future__ import annotations

from sqlalchemy import select

from app.domain.access import Role
from app.domain.errors import DomainError, InvalidInput
from app.domain.listings import DistrictError, FundingMode, normalise_district
from app.extensions import db
from app.models import ImportedRecord, Listing, ProviderDistrict, ProviderProfile, User
from app.services import accounts, audit, listings, providers, vetting
from app.services.imports import Checked, Written, reference_of, referenced, require_columns

YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}


def _email(row: dict, c: Checked) -> str | None:
    try:
        return accounts.normalise_email(row.get("email") or "")
    except DomainError as err:
        c.fail("email", err.message)
        return None


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

    def start_pass(self) -> None:
        self.emails: set[str] = set()

    def check(self, rows: list[tuple[int, dict]]) -> list[Checked]:
        out: list[Checked] = []
        for line, row in rows:
            c = Checked(line, None)
            ref = reference_of(row, c)
            require_columns(row, self.required, c)
            email = _email(row, c)
            name = (row.get("name") or "").strip()
            if len(name) > 120:
                c.fail("name", "The name must be 120 characters or fewer.")
            clean = {"email": email, "name": name}
            self.check_more(row, c, clean)
            if ref is not None:
                c.clean = clean
            out.append(c)
        refs = referenced(self.kind, [c.reference for c in out if c.reference])
        fresh = [c for c in out if c.reference not in refs and c.clean and c.clean["email"]]
        taken = set(db.session.scalars(select(User.email).where(
            User.email.in_([c.clean["email"] for c in fresh if c.clean]))))
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
        """Each row in a savepoint (a refusal undoes only that row); one commit per batch."""
        result: Written = []
        for c in rows:
            assert c.clean is not None and c.reference is not None
            try:
                with db.session.begin_nested():
                    user = accounts._new_user(c.clean["email"], c.clean["name"], self.role, None)
                    subject_id = self.write_more(user, c.clean, actor)
                    db.session.add(ImportedRecord(kind=self.kind, reference=c.reference, subject_id=subject_id))
                    audit.record(actor, f"{self.kind}.imported", "user", user.id, on_behalf_of=user,
                                 details={"reference": c.reference})
            except DomainError as err:
                result.append((c, err))
            else:
                result.append((c, None))
        db.session.commit()
        return result

    def write_more(self, user: User, clean: dict, actor: User) -> int:
        """Write the rest of the row; returns the id its reference points at."""
        return user.id


class Holders(_People):
    """Columns: reference, email, name, home_district (like LS6), at_risk (yes/no)."""

    kind = "holder"
    role = Role.HOLDER
    required = ("email", "name")

    def check_more(self, row: dict, c: Checked, clean: dict) -> None:
        district = (row.get("home_district") or "").strip()
        clean["home_district"] = None
        if district:
            try:
                clean["home_district"] = normalise_district(district)
            except DistrictError as err:
                c.fail("home_district", str(err))
        clean["at_risk"] = _flag(row, "at_risk", c)

    def write_more(self, user: User, clean: dict, actor: User) -> int:
        user.home_district = clean["home_district"]
        user.at_risk = clean["at_risk"]
        return user.id


class Providers(_People):
    """Columns: reference, email, name, provider_type, districts, about, and a first listing:
    listing_category, listing_title, listing_price (pounds), listing_unit (hour, session, day),
    listing_funding_modes (blank: all). The listing is live only once a broker has verified the
    vetting its category needs, exactly as for a provider who signs up."""

    kind = "provider"
    role = Role.PROVIDER
    required = ("email", "name", "provider_type", "districts", "listing_category", "listing_title",
                "listing_price", "listing_unit")

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
            c.fail(err.field, err.message)
        try:
            clean["listing_values"] = listings._clean(listing)
        except InvalidInput as err:
            c.fail("listing_" + err.field if err.field else None, err.message)

    def write_more(self, user: User, clean: dict, actor: User) -> int:
        """A provider's reference points at their profile (what bookings and the API name)."""
        values = dict(clean["values"])
        districts = values.pop("districts")
        profile = ProviderProfile(user_id=user.id, **values)
        profile.districts = [ProviderDistrict(district=d) for d in districts]
        profile.listings = [Listing(**clean["listing_values"])]
        db.session.add(profile)
        db.session.flush()
        vetting.refresh_visibility(profile, actor=actor)
        return profile.id
