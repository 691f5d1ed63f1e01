"""Monthly remittance CSVs for council_managed budgets: one file per provider, pence as pounds."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from app.adapters.remittance import RemittanceLine, build_monthly_remittances, pence_to_pounds


def line(
    provider_id=1,
    name="Ada Care Ltd",
    booking="B-2",
    service=date(2026, 3, 2),
    settled=date(2026, 3, 9),
    hours=Decimal("2.5"),
    pence=4000,
    holder="H-0042",
):
    return RemittanceLine(
        provider_id=provider_id,
        provider_name=name,
        holder_reference=holder,
        booking_reference=booking,
        service_date=service,
        settled_on=settled,
        hours=hours,
        amount_pence=pence,
    )


def rows(content: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content)))


def test_one_file_per_provider_with_only_that_months_settled_lines_and_a_total():
    lines = [
        line(booking="B-2", service=date(2026, 3, 2), pence=4000),
        line(booking="B-1", service=date(2026, 3, 1), hours=Decimal(3), pence=4805),
        line(booking="B-0", settled=date(2026, 2, 28), pence=999),  # February: not in March
        line(provider_id=2, name="Sam Okafor", booking="B-9", pence=1600, hours=Decimal(1)),
    ]

    files = build_monthly_remittances(lines, 2026, 3)

    assert [(f.provider_id, f.line_count, f.total_pence) for f in files] == [
        (1, 2, 8805),
        (2, 1, 1600),
    ]
    assert files[0].filename == "remittance-2026-03-P1-ada-care-ltd.csv"
    assert rows(files[0].content) == [
        [
            "Provider",
            "Provider reference",
            "Holder reference",
            "Booking reference",
            "Service date",
            "Settled date",
            "Hours",
            "Amount (GBP)",
        ],
        ["Ada Care Ltd", "P1", "H-0042", "B-1", "2026-03-01", "2026-03-09", "3.00", "48.05"],
        ["Ada Care Ltd", "P1", "H-0042", "B-2", "2026-03-02", "2026-03-09", "2.50", "40.00"],
        ["Total", "P1", "", "", "", "", "", "88.05"],
    ]


def test_a_month_with_nothing_settled_makes_no_files():
    assert build_monthly_remittances([line(settled=date(2026, 4, 1))], 2026, 3) == []


@pytest.mark.parametrize(
    ("pence", "pounds"), [(0, "0.00"), (5, "0.05"), (123456, "1234.56"), (-250, "-2.50")]
)
def test_pence_become_a_plain_pounds_string(pence, pounds):
    assert pence_to_pounds(pence) == pounds


def test_floats_are_refused_for_money_and_hours():
    with pytest.raises(TypeError):
        build_monthly_remittances([line(pence=40.0)], 2026, 3)
    with pytest.raises(TypeError):
        build_monthly_remittances([line(hours=2.5)], 2026, 3)


def test_spreadsheet_formulas_in_text_are_neutralised():
    [file] = build_monthly_remittances([line(name='=HYPERLINK("x")', holder="+44")], 2026, 3)
    data = rows(file.content)[1]
    assert data[0] == '\'=HYPERLINK("x")' and data[2] == "'+44"
