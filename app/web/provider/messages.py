"""Provider area: messages with budget holders, and upheld concerns with the one-time response."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.errors import DomainError
from app.services import flags as flag_service
from app.services import messaging
from app.services.providers import profile_of
from app.web.context import requires
from app.web.helpers import attach_error
from app.web.messaging_forms import MessageForm, ResponseForm
from app.web.provider import bp


@bp.get("/messages")
@requires(Permission.PROVIDER_AREA)
def messages():
    profile = profile_of(current_user)
    conversations = messaging.conversations_for_provider(current_user) if profile else []
    return render_template("provider/messages.html", profile=profile,
                           conversations=conversations, title="Messages")


@bp.route("/messages/<int:conversation_id>", methods=["GET", "POST"])
@requires(Permission.PROVIDER_AREA)
def conversation(conversation_id: int):
    thread = messaging.conversation_for_provider(current_user, conversation_id)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            messaging.reply_as_provider(current_user, thread.id, form.body.data)
        except DomainError as err:
            attach_error(form, err, default_field="body")
        else:
            flash("Message sent.", "success")
            return redirect(url_for("provider.conversation", conversation_id=thread.id))
    elif not form.is_submitted():
        messaging.mark_read_by_provider(current_user, thread)
    return render_template("provider/conversation.html", thread=thread, form=form,
                           title=f"Messages with {thread.holder.name}")


@bp.get("/concerns")
@requires(Permission.PROVIDER_AREA)
def flags():
    from app.services import providers, restrictions

    profile = providers.profile_of(current_user)
    return render_template("provider/concerns.html",
                           concerns=flag_service.upheld_for_provider(current_user),
                           restricted=bool(profile and restrictions.is_restricted(profile.id)),
                           title="Concerns a broker has upheld")


@bp.route("/concerns/<int:flag_id>", methods=["GET", "POST"])
@requires(Permission.PROVIDER_AREA)
def concern(flag_id: int):
    flag = flag_service.upheld_flag_for(current_user, flag_id)
    form = ResponseForm()
    if request.method == "POST" and flag.provider_response is not None:
        # A second response (another tab, the back button) is refused out loud, not dropped.
        flash("You have already responded to this concern, so this second response was not "
              "sent. A broker will read your first response.", "error")
        return redirect(url_for("provider.concern", flag_id=flag.id))
    if form.validate_on_submit():
        try:
            flag_service.respond(current_user, flag.id, response=form.response.data)
        except DomainError as err:
            attach_error(form, err, default_field="response")
        else:
            flash("Your response has been sent to the broker.", "success")
            return redirect(url_for("provider.concern", flag_id=flag.id))
    return render_template("provider/concern.html", flag=flag, form=form,
                           title=f"Concern {flag.reference}")
