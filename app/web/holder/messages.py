"""Holder area: messages with providers (list, conversation, reply, a first message)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.domain.access import Permission, may_send_messages
from app.domain.messaging import HOLDER_WARNING
from app.errors import DomainError
from app.services import listings as listing_service
from app.services import messaging
from app.web.context import acting, requires
from app.web.helpers import attach_error
from app.web.holder import bp
from app.web.messaging_forms import MessageForm


@bp.get("/messages")
@requires(Permission.HOLDER_MESSAGE)
def messages():
    ctx = acting()
    return render_template("holder/messages.html",
                           conversations=messaging.conversations_for_holder(current_user,
                                                                            ctx.holder.id),
                           title="Messages")


@bp.route("/messages/<int:conversation_id>", methods=["GET", "POST"])
@requires(Permission.HOLDER_MESSAGE)
def conversation(conversation_id: int):
    ctx = acting()
    thread = messaging.conversation_for_holder(current_user, ctx.holder.id, conversation_id)
    can_send = may_send_messages(ctx.grant)
    form = MessageForm()
    if form.is_submitted():
        if not can_send:
            abort(403)
        if form.validate():
            try:
                messaging.send_as_holder(current_user, ctx.holder.id, thread.id, form.body.data)
            except DomainError as err:
                attach_error(form, err, default_field="body")
            else:
                flash("Message sent.", "success")
                return redirect(url_for("holder.conversation", conversation_id=thread.id))
    else:
        messaging.mark_read_by_holder(current_user, thread)
    return render_template("holder/conversation.html", thread=thread, form=form,
                           can_send=can_send, warning=HOLDER_WARNING,
                           title=f"Messages with {thread.provider.display_name}")


@bp.route("/messages/new/<int:listing_id>", methods=["GET", "POST"])
@requires(Permission.HOLDER_MESSAGE)
def new_conversation(listing_id: int):
    ctx = acting()
    if not may_send_messages(ctx.grant):
        abort(403)
    listing = listing_service.public_listing(listing_id)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            thread = messaging.start(current_user, ctx.holder.id, listing.id, form.body.data)
        except DomainError as err:
            attach_error(form, err, default_field="body")
        else:
            flash("Message sent.", "success")
            return redirect(url_for("holder.conversation", conversation_id=thread.id))
    return render_template("holder/message_new.html", listing=listing, form=form,
                           title=f"Message {listing.profile.display_name}")
