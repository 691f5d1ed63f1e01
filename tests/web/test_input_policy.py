"""Input that cannot hurt: control characters and bidi overrides refused beside the field, money
only as plain pounds and pence, ids out of range a 404, bodies too large a 413 unread, and
ProxyFix only for the proxies Carefair was told about."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app import create_app
from app.config import Config
from app.domain.access import Role
from app.models import User


@pytest.mark.parametrize("hostile", ["ann\x00ie@example.org", "ann\u202eie@example.org",
                                     "annie@example.org\r\nBcc: x@example.org"])
def test_sign_in_with_hostile_text_is_refused_beside_the_field_never_a_500(client, hostile):
    response = client.post("/sign-in", data={"email": hostile, "password": "x\x00y"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "must not contain hidden or control characters" in page
    assert 'href="#email"' in page  # the error summary links to the field


@pytest.mark.parametrize("name", ["Eve\x00", "Eve\u202eevE", "Eve\r\nBcc: all", "Eve\x1b[2J",
                                  "Eve\u2066x"])
def test_a_name_with_control_characters_is_refused_and_nothing_is_written(client, db_session,
                                                                          name):
    before = db_session.scalar(select(func.count()).select_from(User))
    response = client.post("/sign-up", data={"role": "holder", "name": name,
                                             "email": "eve@example.org"})
    page = response.get_data(as_text=True)
    assert "Your full name must not contain hidden or control characters" in page
    assert 'href="#name"' in page
    assert 'value="eve@example.org"' in page  # what was typed elsewhere is kept
    assert db_session.scalar(select(func.count()).select_from(User)) == before


def test_multi_line_boxes_keep_newlines_but_refuse_nul_and_overrides(app):
    from werkzeug.datastructures import MultiDict
    from wtforms import IntegerField, TextAreaField

    from app.web.form_base import PlainForm

    class NoteForm(PlainForm):
        class Meta:
            csrf = False

        note = TextAreaField("Note")
        hours = IntegerField("Hours")

    with app.test_request_context():
        ok = NoteForm(MultiDict({"note": "line one\r\nline two\tend", "hours": "3"}))
        assert ok.validate(), ok.errors
        for note, message in [("a\x00b", "Note must not contain hidden or control characters"),
                              ("a\u202eb", "Note must not contain hidden or control characters")]:
            form = NoteForm(MultiDict({"note": note, "hours": "3"}))
            assert not form.validate() and form.note.errors[0].startswith(message)
        for hours, message in [("\u0663", "Hours must be typed using the digits 0 to 9"),
                               ("9" * 40, "Hours is too large"),
                               ("3000000000", "Hours is too large")]:
            form = NoteForm(MultiDict({"note": "", "hours": hours}))
            assert not form.validate() and form.hours.errors[0].startswith(message), form.errors


def test_a_10000_character_name_is_refused_beside_the_field(client):
    response = client.post("/sign-up", data={"role": "holder", "name": "x" * 10_000,
                                             "email": "long@example.org"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "120 characters or fewer" in page


@pytest.mark.parametrize("path", ["/my/bookings/99999999999999999999", "/my/bookings/2147483648",
                                  "/my/bookings/\u0661\u0662", "/my/bookings/\uff11"])
def test_ids_out_of_range_or_in_other_digits_are_not_found(client, login_as, path):
    login_as(Role.HOLDER)
    assert client.get(path).status_code == 404


def test_a_large_form_post_is_refused_with_413_before_it_is_read(client, login_as):
    login_as(Role.HOLDER)
    response = client.post("/account/password", data={"current_password": "x" * 400_000})
    assert response.status_code == 413
    assert "What you sent is too large" in response.get_data(as_text=True)


def test_a_huge_photo_is_refused_from_its_length_alone(app, client, login_as):
    login_as(Role.PROVIDER)
    too_big = app.config["COUNCIL"].photo_max_bytes * 2
    # The body is never sent: the declared length is enough to refuse it.
    response = client.post("/provider/profile/photo", input_stream=_Unreadable(),
                           content_type="multipart/form-data; boundary=x",
                           environ_overrides={"CONTENT_LENGTH": str(too_big)})
    assert response.status_code == 413
    assert "The file you chose is too large" in response.get_data(as_text=True)


class _Unreadable(io.BytesIO):
    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read  # type: ignore[assignment]


def _proxied_app(tmp_path, hops: int):
    config = Config.from_env("test", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/p.db",
                             INSTANCE_DIR=str(tmp_path), TRUSTED_PROXIES=hops)
    app = create_app(config)

    @app.get("/_test/address")
    def address():
        from flask import request

        return f"{request.remote_addr} {request.scheme}"

    return app


def test_without_trusted_proxies_forwarded_headers_are_ignored(tmp_path):
    client = _proxied_app(tmp_path, 0).test_client()
    answer = client.get("/_test/address", headers={"X-Forwarded-For": "6.6.6.6"},
                        environ_base={"REMOTE_ADDR": "10.0.0.5"}).get_data(as_text=True)
    assert answer == "10.0.0.5 http"


def test_with_one_trusted_proxy_only_the_last_hop_is_believed(tmp_path):
    client = _proxied_app(tmp_path, 1).test_client()
    answer = client.get("/_test/address",
                        headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9",
                                 "X-Forwarded-Proto": "https"},
                        environ_base={"REMOTE_ADDR": "10.0.0.5"}).get_data(as_text=True)
    assert answer == "203.0.113.9 https"
