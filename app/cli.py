"""The `carefair` console script (demo, seed, staff ...) and the same commands on `flask --app app`."""

from __future__ import annotations

import os
import typing

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

# Commands that run inside an app context; later issues append theirs
# (for example `search reindex`, `vetting expire`, `brokerage scan`).
APP_COMMANDS: list[click.Command] = []
CommandT = typing.TypeVar("CommandT", bound=click.Command)


def app_command(command: CommandT) -> CommandT:
    # Generic so a registered click.Group keeps its type (and its .command decorator) for mypy.
    APP_COMMANDS.append(command)
    return command


@app_command
@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Load the demo data from seed/ (idempotent: running it twice changes nothing)."""
    from flask import current_app
    from sqlalchemy import inspect

    from app.extensions import db
    from app.services import demo_seed

    # An empty database would fail on the first query with an SQL traceback: build it first.
    if not inspect(db.engine).has_table("users"):
        click.echo("The database has no tables yet, so it is migrated first "
                   "(the same as `flask --app app db upgrade`).")
        upgrade_database(current_app._get_current_object())  # type: ignore[attr-defined]
    demo_seed.seed_all()
    click.echo("Demo data loaded.")


@app_command
@click.command("create-staff")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["broker", "council_admin"]), required=True)
@click.password_option()
@with_appcontext
def create_staff_command(email: str, name: str, role: str, password: str) -> None:
    """Create a broker or council admin account (the first admin is made this way)."""
    from app.domain.access import Role
    from app.errors import DomainError
    from app.services import accounts

    try:
        user = accounts.create_staff(email, name, Role(role), password, actor=None)
    except DomainError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"Created {user.role_enum.label.lower()} {user.email}.")


def _import_commands() -> None:
    from app import (
        cli_bookings,  # noqa: F401  (registers `carefair bookings auto-confirm`)
        cli_brokerage,  # noqa: F401  (registers `carefair brokerage scan`)
        cli_council,  # noqa: F401  (registers `carefair import` and `carefair export`)
        cli_jobs,  # noqa: F401  (registers `carefair jobs notify`)
        cli_mail,  # noqa: F401 - registers `carefair mail ...`
        cli_payments,  # noqa: F401  (registers `carefair payments pay-waiting`)
        cli_search,  # noqa: F401  (registers `carefair search`)
        vetting_cli,  # noqa: F401  (registers `carefair vetting expire`)
    )


def register_cli(app: Flask) -> None:
    _import_commands()
    for command in APP_COMMANDS:
        app.cli.add_command(command)

    from app.cli_ledger import ledger_group

    app.cli.add_command(ledger_group)  # `carefair ledger check`


def upgrade_database(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


DEMO_HOST = "127.0.0.1"


def _create_for_cli() -> Flask:
    from app import create_app

    # A ConfigurationError is a ClickException: click prints it and exits 1, no traceback.
    return create_app()


class _CarefairGroup(FlaskGroup):
    """`carefair --help` lists the commands even when the app cannot start (no SECRET_KEY
    outside demo and test): one plain note instead of Flask's traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from flask.cli import ScriptInfo

        from app.config import ConfigurationError

        try:
            ctx.ensure_object(ScriptInfo).load_app()
        except ConfigurationError as err:
            first_sentence = err.format_message().split(".")[0]
            click.secho(f"Note: {first_sentence}, so the commands that use the app will say how "
                        "to set it when run.\n", err=True)
            _import_commands()
            names = set(click.Group.list_commands(self, ctx)) | {c.name for c in APP_COMMANDS}
            return sorted(n for n in names if n)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from app.config import ConfigurationError

        try:
            return super().get_command(ctx, name)
        except ConfigurationError:
            # For the help listing; run, the command loads the app and says what is missing.
            _import_commands()
            return next((c for c in APP_COMMANDS if c.name == name), None)


@click.group(cls=_CarefairGroup, create_app=_create_for_cli, load_dotenv=False,
             add_version_option=False)
def main() -> None:
    """Carefair: care and support paid for with a personal budget."""


@main.command("demo", with_appcontext=False)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Migrate and seed, print the sign-ins, then stop.")
def demo_command(port: int, no_serve: bool) -> None:
    """Start the demo on http://127.0.0.1:5000 with an SQLite database loaded from seed/."""
    os.environ["CAREFAIR_MODE"] = "demo"
    from app import create_app
    from app.config import Config
    from app.services import demo_seed

    app = create_app(Config.from_env("demo"))
    upgrade_database(app)
    with app.app_context():
        demo_seed.seed_all()
        table = demo_seed.sign_in_table()
        for hook in DEMO_START_HOOKS:
            hook()
    click.echo("")
    click.echo(f"Carefair demo: http://{DEMO_HOST}:{port}/")
    click.echo(f"Database: {app.config['SQLALCHEMY_DATABASE_URI']}")
    click.echo(f"Emails are written to {app.config['MAIL_OUTBOX_DIR']} (no mail server needed).")
    click.echo("Sign in as:")
    width = max(len(role) for role, _, _ in table)
    for role, email, password in table:
        click.echo(f"  {role.ljust(width)}  {email}  password: {password}")
    click.echo("")
    if not no_serve:
        # run_simple, not app.run: Flask ignores app.run() inside its own CLI.
        from werkzeug.serving import run_simple

        run_simple(DEMO_HOST, port, app, threaded=True)


# Jobs that `carefair demo` runs after seeding, inside the app context (e.g. vetting expiry).
DEMO_START_HOOKS: list = []


def _add_production_commands() -> None:
    # `carefair serve` and `carefair scheduler` make their own app, like `carefair demo`.
    from app.cli_serve import scheduler_command, serve_command

    main.add_command(serve_command)
    main.add_command(scheduler_command)


_add_production_commands()
