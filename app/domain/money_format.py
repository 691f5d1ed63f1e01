"""Showing integer pence as pounds for people: £1,234.50 and -£3.20."""


def format_pence(pence: int | None) -> str:
    if pence is None:
        return ""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(int(pence)), 100)
    return f"{sign}£{whole:,}.{part:02d}"
