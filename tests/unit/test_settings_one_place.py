"""The council's settings are read from one place: app.services.council_settings.current()."""

import re
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
DIRECT = re.compile(r"""config\s*\[\s*["']COUNCIL["']\s*\]|config\.get\(\s*["']COUNCIL["']""")


def test_only_council_settings_reads_the_configured_defaults():
    """A service reading app.config["COUNCIL"] would miss a council admin's edits."""
    readers = sorted(str(p.relative_to(APP)) for p in APP.rglob("*.py")
                     if DIRECT.search(p.read_text()))
    assert readers == ["services/council_settings.py"]
