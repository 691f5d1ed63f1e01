"""Bulk import: every bad row reported with its line and nothing written; twice changes nothing; a cut run finishes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.access import Role
from app.models import AuditEvent, Booking, BookingSession, Budget, ImportedRecord, LedgerEntry, Listing, User
from app.services import budgets, imports

pytestmark = pytest.mark.database

HOLDERS = """reference,email,name,home_district,at_risk
H1,ann@example.org,Ann Ash,LS6,no
H2,bob@example.org,Bob Birch,ls7,yes
H3,cat@example.org,Cat Cedar,,
"""
PROVIDERS = ("reference,email,name,provider_type,districts,listing_category,listing_title,listing_price,"
             "listing_unit\n"
             "P1,pa@example.org,Pat Able,self_employed_pa,LS6 LS7,personal_care,Morning help,16.00,hour\n"
             "P2,agency@example.org,Acme Care,home_care_agency,LS6,help_at_home,Home help,24.00,hour\n")
YEAR_START = date(date.today().year - 1, 4, 1)
BUDGETS = ("reference,holder_reference,annual_amount,start_date,frequency,funding_mode,contingency_weeks\n"
           f"B1,H1,12000.00,{YEAR_START},four_weekly,council_managed,4\n"
           f"B2,H2,\"8,000\",{YEAR_START},monthly,direct_payment,\n")


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _count(model) -> int:
    from app.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def importer(app_ctx, make_user):
    admin = make_user(Role.COUNCIL_ADMIN)

    def run(kind: str, path, *, dry_run: bool = False):
        return imports.run(kind, path, actor=admin, dry_run=dry_run)

    run.admin = admin
    return run


def test_holders_import_through_account_rules_with_references(importer, tmp_path):
    report = importer("holders", _write(tmp_path, "holders.csv", HOLDERS))
    assert (report.rows, report.imported, report.unchanged, report.error_count) == (3, 3, 0, 0)
    bob = imports.referenced("holder", ["H2"])["H2"]
    from app.extensions import db

    user = db.session.get(User, bob)
    assert (user.email, user.role, user.home_district, user.at_risk, user.password_hash) == (
        "bob@example.org", "holder", "LS7", True, None)
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "holder.imported")) == 3


def test_a_file_of_bad_rows_is_reported_line_by_line_and_nothing_is_written(importer, tmp_path, make_user):
    make_user(Role.HOLDER, email="taken@example.org")
    users_before = _count(User)
    text = ("reference,email,name,home_district,at_risk\n"
            "G1,good@example.org,Good Person,LS6,no\n"          # line 2: fine
            ",nobody@example.org,No Ref,LS6,no\n"               # 3: no reference
            "G3,not-an-email,Bad Email,LS6,no\n"                # 4: email
            "G4,taken@example.org,Taken,LS6,no\n"               # 5: email already has an account
            "G5,dup@example.org,Dup One,LS6,no\n"               # 6: fine
            "G6,dup@example.org,Dup Two,LS6,no\n"               # 7: email earlier in the file
            "G1,other@example.org,Same Ref,LS6,no\n"            # 8: reference earlier in the file
            "G8,eight@example.org,Bad District,LS6 1AA,no\n"    # 9: full postcode, not a district
            "G9,nine@example.org,Bad Flag,LS6,perhaps\n"        # 10: at_risk
            "G10,ten@example.org,,LS6,no\n"                     # 11: no name
            "G11,x@example.org,Too,Many,Values,Here\n")          # 12: more values than columns
    path = _write(tmp_path, "bad.csv", text)
    for dry_run in (True, False):
        report = importer("holders", path, dry_run=dry_run)
        found = [(e.line, e.field) for e in report.errors]
        assert found == [(3, "reference"), (4, "email"), (5, "email"), (7, "email"), (8, "reference"),
                         (9, "home_district"), (10, "at_risk"), (11, "name"), (12, None)], report.errors
        assert report.rows == 11 and report.error_count == 9 and report.imported == (2 if dry_run else 0)
        assert all(e.message and "Traceback" not in e.message for e in report.errors)
        assert _count(User) == users_before  # neither run wrote anything
        assert _count(ImportedRecord) == 0


def test_json_lines_bad_lines_are_reported_too(importer, tmp_path):
    text = ('{"reference": "J1", "email": "j1@example.org", "name": "Jay One"}\n'
            "not json\n"
            "\n"
            '["a", "list"]\n'
            '{"reference": "J2", "email": "j2@example.org", "name": "Jay Two", "at_risk": true}\n')
    report = importer("holders", _write(tmp_path, "h.jsonl", text), dry_run=True)
    assert [(e.line, e.field) for e in report.errors] == [(2, None), (4, None)]
    assert report.imported == 2


def test_a_quote_left_open_is_reported_rather_than_swallowing_the_rows_after_it(importer, tmp_path):
    users_before = _count(User)
    text = ("reference,email,name\n"
            "Q1,q1@example.org,\"Ann Smith\n"      # line 2: the quote is never closed
            "Q2,q2@example.org,Bo Jones\n"
            "Q3,q3@example.org,Cy Hall\n")
    for dry_run in (True, False):
        report = importer("holders", _write(tmp_path, "open-quote.csv", text), dry_run=dry_run)
        assert [(e.line, e.field) for e in report.errors] == [(2, None)]
        assert "never closed" in report.errors[0].message
        assert report.imported == 0 and _count(User) == users_before
    stray = ("reference,email,name\n"
             "R1,r1@example.org,\"Ann\" Smith\n"   # line 2: text after the closing quote
             "R2,r2@example.org,Bo Jones\n")
    report = importer("holders", _write(tmp_path, "stray.csv", stray), dry_run=True)
    assert [(e.line, e.field) for e in report.errors] == [(2, None)] and report.imported == 1


def test_a_misspelt_column_is_reported_rather_than_its_values_silently_dropped(importer, tmp_path):
    """home_district and at_risk are optional: a header that misspells one would otherwise
    import every holder without it. A column Carefair does not read at all is ignored."""
    text = ("reference,email,name,home_distrct,at_risk,case_worker\n"
            "M1,m1@example.org,Mo One,LS6,yes,Sam\n"
            "M2,m2@example.org,Mo Two,LS7,no,Sam\n")
    users_before = _count(User)
    path = _write(tmp_path, "misspelt.csv", text)
    for dry_run in (True, False):
        report = importer("holders", path, dry_run=dry_run)
        assert [(e.line, e.field, e.message) for e in report.errors] == [
            (1, "home_distrct", "Carefair does not read a column named home_distrct. Did you mean home_district?")]
        assert report.rows == 2 and report.error_count == 1
        assert _count(User) == users_before and _count(ImportedRecord) == 0
    jsonl = ('{"reference": "M1", "email": "m1@example.org", "name": "Mo One"}\n'
             '{"reference": "M2", "email": "m2@example.org", "name": "Mo Two", "at_rsk": true}\n')
    report = importer("holders", _write(tmp_path, "misspelt.jsonl", jsonl), dry_run=True)
    assert [(e.line, e.field) for e in report.errors] == [(2, "at_rsk")]
    fine = importer("holders", _write(tmp_path, "fine.csv", text.replace("home_distrct", "home_district")),
                    dry_run=False)
    assert fine.error_count == 0 and fine.imported == 2


def test_the_same_file_twice_changes_nothing_the_second_time(importer, tmp_path):
    holders, providers, budget_file = (_write(tmp_path, "h.csv", HOLDERS), _write(tmp_path, "p.csv", PROVIDERS),
                                       _write(tmp_path, "b.csv", BUDGETS))
    first = [importer(k, p) for k, p in (("holders", holders), ("providers", providers), ("budgets", budget_file))]
    assert [r.imported for r in first] == [3, 2, 2]
    counts = [_count(m) for m in (User, Listing, Budget, AuditEvent, ImportedRecord)]
    second = [importer(k, p) for k, p in (("holders", holders), ("providers", providers), ("budgets", budget_file))]
    assert [(r.imported, r.unchanged, r.error_count) for r in second] == [(0, 3, 0), (0, 2, 0), (0, 2, 0)]
    assert [_count(m) for m in (User, Listing, Budget, AuditEvent, ImportedRecord)] == counts


def test_imported_listings_wait_for_vetting_like_any_other(importer, tmp_path):
    importer("providers", _write(tmp_path, "p.csv", PROVIDERS))
    from app.extensions import db

    listings = db.session.scalars(select(Listing)).all()
    assert len(listings) == 2 and not any(li.is_live for li in listings)


def test_imported_providers_leave_the_audit_trail_the_screens_do(importer, tmp_path):
    importer("providers", _write(tmp_path, "p.csv", PROVIDERS))
    from app.extensions import db

    pat = imports.referenced("provider", ["P1"])["P1"]
    from app.models import ProviderProfile

    profile = db.session.get(ProviderProfile, pat)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.on_behalf_of_id == profile.user_id)
                                .order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor_id) for e in events] == [
        ("provider.profile_created", importer.admin.id), ("listing.created", importer.admin.id),
        ("provider.imported", importer.admin.id)]
    assert events[0].details == {"provider_type": "self_employed_pa", "districts": ["LS6", "LS7"]}
    assert events[1].details["price_pence"] == 1600 and "description" not in events[1].details


def test_an_import_cut_off_midway_finishes_when_run_again(importer, tmp_path):
    lines = HOLDERS.strip().split("\n")
    # The process died after committing the first two rows: the same as a file of those rows.
    importer("holders", _write(tmp_path, "part.csv", "\n".join(lines[:3]) + "\n"))
    report = importer("holders", _write(tmp_path, "all.csv", HOLDERS))
    assert (report.imported, report.unchanged) == (1, 2)
    assert _count(User) - 1 == 3  # three holders and the admin: nothing doubled

    # A budget committed by the service just before its reference was: adopted, not doubled.
    importer("holders", _write(tmp_path, "all.csv", HOLDERS))
    h1 = imports.referenced("holder", ["H1"])["H1"]
    budgets.create_budget(h1, 1_200_000, YEAR_START, "four_weekly", "council_managed",
                          contingency_weeks=4, actor=importer.admin)
    report = importer("budgets", _write(tmp_path, "b.csv", BUDGETS))
    assert (report.imported, report.error_count) == (2, 0)
    assert _count(Budget) == 2


def test_budget_rows_follow_the_budget_rules(importer, tmp_path):
    importer("holders", _write(tmp_path, "h.csv", HOLDERS))
    text = ("reference,holder_reference,annual_amount,start_date,frequency,funding_mode,contingency_weeks,"
            "contingency_amount\n"
            f"B1,H9,100,{YEAR_START},monthly,council_managed,,\n"          # unknown holder
            f"B2,H1,-5,{YEAR_START},monthly,council_managed,,\n"           # amount
            f"B3,H1,100,2025-13-01,monthly,council_managed,,\n"           # date
            f"B4,H1,100,{YEAR_START},weekly,council_managed,,\n"           # frequency
            f"B5,H1,100,{YEAR_START},monthly,cash,,\n"                     # funding mode
            f"B6,H1,100,{YEAR_START},monthly,council_managed,30,\n"        # weeks
            f"B7,H1,100,{YEAR_START},monthly,council_managed,2,50\n")      # both
    report = importer("budgets", _write(tmp_path, "b.csv", text), dry_run=True)
    assert [(e.line, e.field) for e in report.errors] == [
        (2, "holder_reference"), (3, "annual_amount"), (4, "start_date"), (5, "frequency"),
        (6, "funding_mode"), (7, "contingency_weeks"), (8, "contingency_weeks")]


def _history_setup(importer, tmp_path):
    importer("holders", _write(tmp_path, "h.csv", HOLDERS))
    importer("providers", _write(tmp_path, "p.csv", PROVIDERS))
    importer("budgets", _write(tmp_path, "b.csv", BUDGETS))


def test_historical_bookings_are_settled_history_that_moves_no_money(importer, tmp_path, app):
    _history_setup(importer, tmp_path)
    day = YEAR_START + timedelta(days=10)
    text = ("reference,holder_reference,provider_reference,start,end,amount,category\n"
            f"X1,H1,P1,{day}T09:00,{day}T11:00,32.00,personal_care\n"
            f"X2,H2,P2,{day}T09:00,{day}T10:00,24.00,\n"
            f"X3,H1,P2,{day + timedelta(days=1)}T09:00:00+00:00,{day + timedelta(days=1)}T10:00:00+00:00,24.00,\n")
    path = _write(tmp_path, "bookings.csv", text)
    ledger_before = _count(LedgerEntry)
    report = importer("bookings", path)
    assert (report.imported, report.error_count) == (3, 0)
    from app.extensions import db

    sessions = db.session.scalars(select(BookingSession).order_by(BookingSession.id)).all()
    assert [(s.state, s.charge_pence, s.settled_on) for s in sessions] == [
        ("settled", 3200, None), ("settled", 2400, None), ("settled", 2400, None)]
    assert sessions[0].start_at == datetime.combine(day, datetime.min.time().replace(hour=9),
                                                    tzinfo=imports.history.UK).astimezone(UTC)
    assert {b.state for b in db.session.scalars(select(Booking))} == {"settled"}
    assert _count(LedgerEntry) == ledger_before  # no money moved
    from app.services import bookings as booking_service

    assert booking_service.remittance_files(day.year, day.month) == []  # paid long ago, elsewhere
    assert importer("bookings", path).unchanged == 3  # twice: nothing doubled
    assert _count(Booking) == 3


def test_bad_history_rows_are_reported(importer, tmp_path):
    _history_setup(importer, tmp_path)
    day = YEAR_START + timedelta(days=20)
    future = date.today() + timedelta(days=3)
    text = ("reference,holder_reference,provider_reference,start,end,amount,category,budget_reference\n"
            f"Y1,H1,P1,{day}T09:00,{day}T11:00,32.00,\n"                  # 2 fine
            f"Y2,H2,P1,{day}T10:00,{day}T12:00,32.00,\n"                  # 3 provider busy (clash with Y1)
            f"Y3,H9,P1,{day}T13:00,{day}T14:00,16.00,\n"                  # 4 unknown holder
            f"Y4,H1,P9,{day}T13:00,{day}T14:00,16.00,\n"                  # 5 unknown provider
            f"Y5,H1,P1,{future}T09:00,{future}T10:00,16.00,\n"           # 6 not yet happened
            f"Y6,H1,P1,{day}T15:00,{day}T14:00,16.00,\n"                  # 7 ends before it starts
            f"Y7,H3,P1,{day}T16:00,{day}T17:00,16.00,\n"                  # 8 no budget covers it
            f"Y8,H1,P1,{day}T18:00,{day}T19:00,16.00,transport\n"         # 9 no listing in that category
            f"Y9,H1,P1,yesterday,{day}T19:00,16.00,\n"                    # 10 start unreadable
            f"Y10,H1,P1,{day}T20:00,{day}T21:00,nothing,\n"              # 11 amount
            f"Y11,H1,P1,{day}T22:00,{day}T23:00,16.00,,B2\n"             # 12 another holder's budget
            f"Y12,H1,P1,{YEAR_START - timedelta(days=2)}T09:00,{YEAR_START - timedelta(days=2)}T10:00,16.00,,B1\n")
    #                                                                   13 before the budget began
    report = importer("bookings", _write(tmp_path, "y.csv", text))
    assert [(e.line, e.field) for e in report.errors] == [
        (3, "start"), (4, "holder_reference"), (5, "provider_reference"), (6, "end"), (7, "end"),
        (8, "budget_reference"), (9, "category"), (10, "start"), (11, "amount"), (12, "budget_reference"),
        (13, "budget_reference")], report.errors
    assert _count(Booking) == 0


def test_import_through_the_api_upload(client, make_token, tmp_path, db_session):
    _, headers = make_token(["imports:write"])
    data = {"file": (__import__("io").BytesIO(HOLDERS.encode()), "holders.csv")}
    dry = client.post("/api/v1/imports/holders?dry_run=true", headers=headers, data=data,
                      content_type="multipart/form-data")
    assert dry.status_code == 200, dry.get_data(as_text=True)
    assert dry.get_json() | {"errors": []} == {"kind": "holders", "dry_run": True, "rows": 3, "imported": 3,
                                                "unchanged": 0, "error_count": 0, "errors": []}
    assert db_session.scalar(select(func.count()).select_from(ImportedRecord)) == 0
    bad = client.post("/api/v1/imports/holders", headers=headers, content_type="multipart/form-data",
                      data={"file": (__import__("io").BytesIO(b"reference,email,name\nR1,nope,Name\n"), "h.csv")})
    assert bad.get_json()["errors"] == [{"line": 2, "reference": "R1", "field": "email",
                                         "message": bad.get_json()["errors"][0]["message"]}]
    real = client.post("/api/v1/imports/holders", headers=headers, content_type="multipart/form-data",
                       data={"file": (__import__("io").BytesIO(HOLDERS.encode()), "holders.csv")})
    assert real.get_json()["imported"] == 3


def test_an_api_upload_may_be_far_larger_than_a_form_and_is_refused_in_the_error_shape_beyond_its_limit(
        client, app, make_token, db_session):
    """A council's file of holders is megabytes, not a form's 256 KB: the upload is copied to
    disk in chunks, so it has its own limit (API_IMPORT_MAX_BYTES)."""
    import io

    _, headers = make_token(["imports:write"])
    rows = "".join(f"L{n},holder{n}@example.org,Holder Number {n},LS6,no\n" for n in range(15_000))
    text = "reference,email,name,home_district,at_risk\n" + rows
    assert len(text) > app.config["MAX_CONTENT_LENGTH"] // 16 > app.config["MAX_FORM_LENGTH"]
    big = client.post("/api/v1/imports/holders?dry_run=true", headers=headers, content_type="multipart/form-data",
                      data={"file": (io.BytesIO(text.encode()), "holders.csv")})
    assert big.status_code == 200, big.get_data(as_text=True)[:300]
    assert (big.get_json()["rows"], big.get_json()["error_count"]) == (15_000, 0)
    app.config["API_IMPORT_MAX_BYTES"] = 16 * 1024
    try:
        # (Under the test client's 500 KB spooling threshold: a refused body it spooled to a
        # temporary file would be left open by the client, not by Carefair.)
        refused = client.post("/api/v1/imports/holders?dry_run=true", headers=headers,
                              content_type="multipart/form-data",
                              data={"file": (io.BytesIO(text[:100_000].encode()), "holders.csv")})
    finally:
        app.config["API_IMPORT_MAX_BYTES"] = 512 * 1024 * 1024
    assert refused.status_code == 413
    assert set(refused.get_json()["error"]) == {"status", "code", "message", "field"}


def test_cli_import_reports_and_exports(app, importer, tmp_path):
    runner = app.test_cli_runner()
    path = _write(tmp_path, "h.csv", HOLDERS)
    result = runner.invoke(args=["import", "holders", str(path), "--as", importer.admin.email, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would import 3" in result.output
    bad = _write(tmp_path, "bad.csv", "reference,email,name\nR1,nope,Name\n")
    result = runner.invoke(args=["import", "holders", str(bad), "--as", importer.admin.email])
    assert result.exit_code == 1 and "line 2 (R1): email:" in result.output
    result = runner.invoke(args=["import", "holders", str(path), "--as", importer.admin.email])
    assert result.exit_code == 0 and "imported 3" in result.output
    out = tmp_path / "holders.jsonl"
    runner.invoke(args=["export", "holders", "--format", "jsonl", "-o", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["reference"] for r in rows) == ["H1", "H2", "H3"]


def test_the_import_and_the_budgets_screen_refuse_the_same_budgets(importer, tmp_path):
    importer("holders", _write(tmp_path, "h.csv", HOLDERS))
    h1 = imports.referenced("holder", ["H1"])["H1"]
    budgets.create_budget(h1, 1_200_000, YEAR_START, "monthly", "council_managed", contingency_weeks=4,
                          actor=importer.admin)
    too_late = date.today() + timedelta(days=400)
    cases = [  # (annual pence, start, frequency, funding mode, weeks, contingency pence)
        (1_200_000, YEAR_START + timedelta(days=30), "monthly", "council_managed", 4, None),  # overlaps
        (1_200_000, too_late, "monthly", "council_managed", 4, None),
        (1_200_000, YEAR_START.replace(year=YEAR_START.year + 1), "weekly", "council_managed", 4, None),
        (1_200_000, YEAR_START.replace(year=YEAR_START.year + 1), "monthly", "cash", 4, None),
        (1_200_000, YEAR_START.replace(year=YEAR_START.year + 1), "monthly", "council_managed", 27, None),
        (1_000, YEAR_START.replace(year=YEAR_START.year + 1), "monthly", "council_managed", None, 2_000),
    ]
    lines = ["reference,holder_reference,annual_amount,start_date,frequency,funding_mode,contingency_weeks,"
             "contingency_amount"]
    screen = []
    for i, (pence, start, frequency, mode, weeks, contingency) in enumerate(cases):
        lines.append(f"R{i},H1,{pence / 100:.2f},{start},{frequency},{mode},{'' if weeks is None else weeks},"
                     f"{'' if contingency is None else f'{contingency / 100:.2f}'}")
        try:
            budgets.create_budget(h1, pence, start, frequency, mode, contingency_weeks=weeks,
                                  contingency_pence=contingency, actor=importer.admin)
        except imports.DomainError as err:
            screen.append((i + 2, err.field, err.message.replace("Ann Ash", "This holder")))
    report = importer("budgets", _write(tmp_path, "b.csv", "\n".join(lines) + "\n"), dry_run=True)
    assert [(e.line, e.field, e.message) for e in report.errors] == screen
    assert len(screen) == len(cases)


class _Cut(Exception):
    """The process stopping (a crash, a lost connection) just after a batch was committed."""


def _cut_after_first_batch(phase: str, done: int, total: int | None) -> None:
    if phase == "writing":
        raise _Cut


def test_a_real_run_cut_off_after_a_batch_finishes_when_run_again_with_nothing_doubled(importer, tmp_path):
    _history_setup(importer, tmp_path)
    first = datetime.combine(YEAR_START, datetime.min.time().replace(hour=6))
    rows = 4_500  # three batches of history
    lines = ["reference,holder_reference,provider_reference,start,end,amount"]
    for i in range(rows):
        start = first + timedelta(hours=i)
        lines.append(f"C{i},H1,P1,{start:%Y-%m-%dT%H:%M},{start + timedelta(hours=1):%Y-%m-%dT%H:%M},16.00")
    path = _write(tmp_path, "history.csv", "\n".join(lines) + "\n")
    with pytest.raises(_Cut):
        imports.run("bookings", path, actor=importer.admin, dry_run=False, progress=_cut_after_first_batch)
    cut = _count(Booking)
    assert 0 < cut < rows  # the first batch is there, whole; the rest is not
    assert _count(BookingSession) == cut and _count(ImportedRecord) - 7 == cut  # 3 holders, 2 providers, 2 budgets
    again = importer("bookings", path)
    assert (again.unchanged, again.imported, again.error_count) == (cut, rows - cut, 0)
    assert _count(Booking) == _count(BookingSession) == rows
    assert importer("bookings", path).unchanged == rows  # and a third time changes nothing


def test_bad_provider_rows_are_reported_by_the_profile_and_listing_rules_and_nothing_is_written(importer, tmp_path):
    head = PROVIDERS.split("\n")[0]
    text = "\n".join([
        head,
        "Q1,q1@example.org,Quinn,self_employed_pa,LS6,personal_care,Help,16.00,hour",      # 2 fine
        "Q2,q2@example.org,Quinn,plumber,LS6,personal_care,Help,16.00,hour",               # 3 provider type
        "Q3,q3@example.org,Quinn,self_employed_pa,LS6 1AA,personal_care,Help,16.00,hour",  # 4 districts
        "Q4,q4@example.org,Quinn,self_employed_pa,LS6,gardening,Help,16.00,hour",          # 5 category
        "Q5,q5@example.org,Quinn,self_employed_pa,LS6,personal_care,Help,lots,hour",       # 6 price
        "Q6,q6@example.org,Quinn,self_employed_pa,LS6,personal_care,Help,16.00,fortnight",  # 7 unit
        "Q7,q7@example.org,,self_employed_pa,LS6,personal_care,Help,16.00,hour",           # 8 name
    ]) + "\n"
    users_before = _count(User)
    report = importer("providers", _write(tmp_path, "p.csv", text))
    assert [e.line for e in report.errors] == [3, 4, 5, 6, 7, 8], report.errors
    assert {e.line: e.field for e in report.errors} == {3: "provider_type", 4: "districts", 5: "listing_category",
                                                        6: "listing_price", 7: "listing_price_unit", 8: "name"}
    assert (report.rows, report.imported) == (7, 0)
    assert _count(User) == users_before and _count(Listing) == 0 and _count(ImportedRecord) == 0


def test_a_provider_row_covering_a_district_not_in_use_names_it_and_nothing_is_written(importer, tmp_path):
    head = PROVIDERS.split("\n")[0]
    text = "\n".join([
        head,
        "Q1,q1@example.org,Quinn,self_employed_pa,LS6 LS7,personal_care,Help,16.00,hour",
        "Q2,q2@example.org,Rowan,self_employed_pa,LS6 SY30,personal_care,Help,16.00,hour",
    ]) + "\n"
    users_before = _count(User)
    report = importer("providers", _write(tmp_path, "p.csv", text))
    assert [(e.line, e.field) for e in report.errors] == [(3, "districts")]
    assert report.errors[0].message.startswith("SY30 is not a postcode district in use")
    assert _count(User) == users_before and _count(Listing) == 0 and _count(ImportedRecord) == 0


def test_the_api_upload_refuses_a_provider_covering_a_district_not_in_use(client, make_token, db_session):
    _, headers = make_token(["imports:write"])
    text = PROVIDERS.replace("LS6 LS7", "LS6 LS30")
    response = client.post("/api/v1/imports/providers", headers=headers, content_type="multipart/form-data",
                           data={"file": (__import__("io").BytesIO(text.encode()), "providers.csv")})
    body = response.get_json()
    assert response.status_code == 200 and body["imported"] == 0, body
    assert [(e["line"], e["field"]) for e in body["errors"]] == [(2, "districts")]
    assert body["errors"][0]["message"].startswith("LS30 is not a postcode district in use")
    assert db_session.scalar(select(func.count()).select_from(ImportedRecord)) == 0


def _statements(importer, kind: str, path) -> int:
    from sqlalchemy import event

    from app.extensions import db

    seen: list[str] = []
    # SQLite's driver inserts one row a statement, in process (no round trip): count its questions.
    inserts_too = db.engine.dialect.name == "postgresql"

    def count(conn, cursor, statement, *args) -> None:
        if inserts_too or not statement.lstrip().upper().startswith("INSERT"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert importer(kind, path).error_count == 0
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_an_import_asks_the_database_the_same_few_things_for_ten_rows_or_two_hundred(importer, tmp_path):
    """Speed at a council's scale: no question is asked once per row (such as reading the council's
    settings for each row), so 200 rows in a batch cost the statements 10 rows do."""
    start = datetime.combine(YEAR_START, datetime.min.time().replace(hour=6))
    counts = {}
    for n, tag in ((10, "a"), (200, "b")):
        files = {
            "holders": ["reference,email,name,home_district"] + [
                f"H{tag}{i},h{tag}{i}@example.org,Holder {i},LS6" for i in range(n)],
            "providers": [PROVIDERS.split("\n")[0]] + [
                f"P{tag}{i},p{tag}{i}@example.org,Pat {i},self_employed_pa,LS6,personal_care,Help,16.00,hour"
                for i in range(n)],
            "budgets": ["reference,holder_reference,annual_amount,start_date,frequency,funding_mode"] + [
                f"B{tag}{i},H{tag}{i},9000,{YEAR_START},monthly,council_managed" for i in range(n)],
            "bookings": ["reference,holder_reference,provider_reference,start,end,amount"] + [
                f"X{tag}{i},H{tag}{i},P{tag}{i},{start:%Y-%m-%dT%H:%M},{start + timedelta(hours=1):%Y-%m-%dT%H:%M},16"
                for i in range(n)],
        }
        for kind, lines in files.items():
            counts[(kind, n)] = _statements(importer, kind, _write(tmp_path, f"{kind}{n}.csv", "\n".join(lines) + "\n"))
    assert {kind: counts[(kind, 200)] - counts[(kind, 10)] for kind in ("holders", "providers", "budgets",
                                                                         "bookings")} == dict.fromkeys(
        ("holders", "providers", "budgets", "bookings"), 0), counts


def test_a_batch_whose_email_was_taken_after_its_check_is_refused_whole_and_nothing_of_it_is_written(
        importer, tmp_path, make_user):
    """The race between a batch's check and its write: the unique email refuses the batch (on
    PostgreSQL through COPY), each row says why in plain words, and nothing of it stays."""
    from app.services.imports.people import Holders

    holders = Holders()
    holders.start_pass()
    checked = holders.check([(2, {"reference": "R1", "email": "first@example.org", "name": "First"}),
                             (3, {"reference": "R2", "email": "second@example.org", "name": "Second"})])
    assert not any(c.errors for c in checked)
    make_user(Role.HOLDER, email="second@example.org")  # someone signs up meanwhile
    users_before = _count(User)
    written = holders.write(checked, importer.admin)
    assert [(c.line, type(problem).__name__, problem.field) for c, problem in written] == [
        (2, "Conflict", "email"), (3, "Conflict", "email")]
    assert "Run the import again" in written[0][1].message
    assert _count(User) == users_before and _count(ImportedRecord) == 0


def test_history_booked_over_after_its_check_is_refused_whole_on_postgresql(importer, tmp_path):
    """PostgreSQL's no-double-booking constraint refuses a batch whose provider was booked at the
    same time after the batch was checked; each row says so and nothing of the batch stays.
    (SQLite has no exclusion constraint: there the check inside the import is the guard.)"""
    from app.extensions import db
    from app.services.imports.history import HistoricalBookings

    _history_setup(importer, tmp_path)
    day = YEAR_START + timedelta(days=30)
    history = HistoricalBookings()
    history.start_pass()
    checked = history.check([(2, {"reference": "Z1", "holder_reference": "H1", "provider_reference": "P1",
                                  "start": f"{day}T09:00", "end": f"{day}T10:00", "amount": "16"})])
    assert not checked[0].errors
    other = ("reference,holder_reference,provider_reference,start,end,amount\n"
             f"Z0,H2,P1,{day}T09:30,{day}T10:30,16\n")  # booked over, committed
    importer("bookings", _write(tmp_path, "other.csv", other))
    if db.engine.dialect.name != "postgresql":
        return
    written = history.write(checked, importer.admin)
    assert [(c.line, type(problem).__name__) for c, problem in written] == [(2, "Conflict")]
    assert "already has a session at this time" in written[0][1].message
    assert _count(Booking) == 1 and imports.referenced("booking", ["Z1"]) == {}
