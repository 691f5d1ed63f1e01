"""The domain stays plain Python: no Flask, no database, no services (conventions: domain/)."""

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "app" / "domain"
FORBIDDEN = ("flask", "werkzeug", "sqlalchemy", "flask_sqlalchemy", "stripe", "app.models",
             "app.services", "app.web", "app.adapters", "app.extensions", "app.errors")


MODULES = pytest.mark.parametrize("path", sorted(DOMAIN.rglob("*.py")),
                                  ids=lambda p: str(p.relative_to(DOMAIN)))


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@MODULES
def test_domain_module_imports_nothing_from_the_web_or_the_database(path):
    bad = {m for m in imported_modules(path)
           if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@MODULES
def test_every_domain_module_starts_with_a_docstring(path):
    assert ast.get_docstring(ast.parse(path.read_text())), f"{path.name} has no module docstring"
