"""The `carefair search` commands: rebuild the search index from every live listing."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app import vetting_cli  # noqa: F401  (its expiry hook must run before the reindex hook)
from app.cli import DEMO_START_HOOKS, app_command

search_group = click.Group("search", help="Look after the search index.")
app_command(search_group)


@search_group.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Rebuild the search index from every live listing."""
    from app.adapters.search import get_backend
    from app.services import search

    try:
        count = search.reindex()
    except search.NoDocumentSource as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Indexed {count} listings with the {get_backend().name} backend.")


def _reindex_on_demo_start() -> None:
    """The demo's listings went live (and expired ones were hidden) while seeding: index them."""
    from app.services import search

    count = search.reindex()
    click.echo(f"Search: indexed {count} live listings.")


DEMO_START_HOOKS.append(_reindex_on_demo_start)
