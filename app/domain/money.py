"""Money as a value object over integer pence, and parsing pounds typed by people into pence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.domain.errors import InvalidInput

# Nobody's care budget, instalment or payment is anywhere near this; above it is a typo.
MAX_PENCE = 1_000_000 * 100

# ASCII digits only: Python's \d (and int()) also read Arabic-Indic, full-width and other
# digits, which look like something else on a statement.
_AMOUNT = re.compile(r"^(?P<whole>[0-9]+)(?:\.(?P<part>[0-9]*))?$", re.ASCII)
# Commas only as thousands separators: "1,250.50" yes; "12,50" (a continental 12.50) no.
_THOUSANDS = re.compile(r"^[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?$", re.ASCII)


def plain_pounds(text: str | None) -> str:
    """Typed pounds reduced to plain digits and an optional point ("1,250.50" -> "1250.50"),
    with the £ and spaces dropped. Raises ValueError with a plain message for anything else:
    a comma used as a decimal point, non-ASCII digits, letters. The one place money typed
    by people is read (listings and budgets both use it)."""
    raw = (text or "").strip().replace(" ", "")
    if raw.startswith("£"):
        raw = raw[1:]
    if "," in raw:
        if not _THOUSANDS.match(raw):
            raise ValueError("Use a full stop between pounds and pence, like 12.50")
        raw = raw.replace(",", "")
    if raw and not raw.isascii():
        raise ValueError("Type the amount using the digits 0 to 9, like 25.50")
    return raw


@dataclass(frozen=True, slots=True)
class Money:
    pence: int

    def __post_init__(self) -> None:
        if isinstance(self.pence, bool) or not isinstance(self.pence, int):
            raise TypeError("Money is whole pence (an int), never a float")

    def __add__(self, other: Money) -> Money:
        return Money(self.pence + other.pence)

    def __sub__(self, other: Money) -> Money:
        return Money(self.pence - other.pence)

    def __neg__(self) -> Money:
        return Money(-self.pence)

    def __lt__(self, other: Money) -> bool:
        return self.pence < other.pence

    def __le__(self, other: Money) -> bool:
        return self.pence <= other.pence

    def __str__(self) -> str:
        sign = "-" if self.pence < 0 else ""
        whole, part = divmod(abs(self.pence), 100)
        return f"{sign}£{whole:,}.{part:02d}"

    @property
    def pounds_text(self) -> str:
        """For putting back into a form field: 1234.50, no sign or separators."""
        whole, part = divmod(abs(self.pence), 100)
        return f"{'-' if self.pence < 0 else ''}{whole}.{part:02d}"


def parse_pounds(text: str | None, *, field: str = "amount", allow_zero: bool = False,
                 maximum_pence: int = MAX_PENCE, label: str = "an amount") -> int:
    """'1,234.5' or '£12' -> pence. Refuses floats' rounding by never using floats."""
    if (text or "").strip().startswith(("-", "−", "£-", "£−")):
        raise InvalidInput("Enter an amount more than £0, without a minus sign", field=field)
    try:
        raw = plain_pounds(text)
    except ValueError as err:
        raise InvalidInput(str(err), field=field) from err
    if not raw:
        raise InvalidInput(f"Enter {label} in pounds, like 25.50", field=field)
    if raw.startswith("-") or raw.startswith("−"):
        raise InvalidInput("Enter an amount more than £0, without a minus sign", field=field)
    match = _AMOUNT.match(raw)
    if not match:
        raise InvalidInput(f"Enter {label} in pounds using numbers only, like 25.50", field=field)
    part = match.group("part") or ""
    if len(part) > 2:
        raise InvalidInput("Enter an amount with no more than 2 numbers after the decimal point, "
                           "like 25.50", field=field)
    pence = int(match.group("whole")) * 100 + int((part + "00")[:2])
    if pence == 0 and not allow_zero:
        raise InvalidInput("Enter an amount more than £0", field=field)
    if pence > maximum_pence:
        raise InvalidInput(f"Enter an amount no more than {Money(maximum_pence)}. Check for a typo",
                           field=field)
    return pence
