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


def test_importing_the_domain_loads_neither_flask_nor_sqlalchemy():
    """In a fresh interpreter: the AST check above cannot see what a package's parents import."""
    import subprocess
    import sys

    code = ("import importlib, pkgutil, sys\n"
            "import app.domain\n"
            "for m in pkgutil.walk_packages(app.domain.__path__, 'app.domain.'):\n"
            "    importlib.import_module(m.name)\n"
            "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
            "('flask', 'sqlalchemy', 'werkzeug', 'flask_sqlalchemy'))\n"
            "print(','.join(bad))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=DOMAIN.parents[1], check=True)
    assert done.stdout.strip() == ""
