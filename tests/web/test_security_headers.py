"""Each app keeps its own transport security: a production app forces HTTPS and secure cookies,
and creating it does not change what another app (the demo, on plain http) does."""

from app import create_app
from app.config import Config


def _app(tmp_path, mode: str, **overrides):
    return create_app(Config.from_env(
        mode, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / f'{mode}.db'}",
        INSTANCE_DIR=str(tmp_path), MAIL_OUTBOX_DIR=str(tmp_path / "outbox"), **overrides))


def test_a_production_app_created_later_leaves_the_demo_on_plain_http(tmp_path):
    demo = _app(tmp_path, "demo")
    production = _app(tmp_path, "production", SECRET_KEY="x" * 40, PUBLIC_BASE_URL="https://localhost")
    on_demo = demo.test_client().get("/accessibility")
    assert on_demo.status_code == 200
    assert "Strict-Transport-Security" not in on_demo.headers
    on_production = production.test_client().get("/accessibility")
    assert on_production.status_code == 302
    assert on_production.headers["Location"].startswith("https://")
