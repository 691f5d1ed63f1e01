"""Messaging rules: body limits, and the finding for a message that asks for money or secrecy."""

from __future__ import annotations

from datetime import timedelta

from app.domain.errors import InvalidInput
from app.domain.rules.model import (
    Finding,
    MarketSnapshot,
    Message,
    Provider,
    ProviderKind,
    Severity,
    Subject,
)
from app.domain.rules.phrases import LABELS, is_serious, match_phrases
from app.domain.rules.safeguarding import suspicious_messages
from app.domain.settings import CouncilSettings

MAX_BODY_LENGTH = 2000

# Shown to the holder's side beside a message the phrase matcher caught.
HOLDER_WARNING = (
    "Carefair never asks you to pay in cash, by bank transfer or outside Carefair, to lend or "
    "give money or gifts, to buy things for someone, to share card details, PINs or online "
    "banking, to change your will, or to keep things secret. Do not pay or share anything. If "
    "you are worried, talk to your broker."
)


# The rule name of the flag filed for a message a restricted provider sends to a holder.
RESTRICTED_SENDER_RULE = "message_from_restricted_provider"


def should_hold(message: Message, finding: Finding | None, *,
                sender_restricted: bool = False) -> bool:
    """A provider's message that asks for card details, secrecy, a will or property, or for
    more than one kind of thing waits for a broker before the holder's side sees it; so does
    every message from a provider whose listings are suspended or payouts held (a suspected
    abuser keeps no channel to the people they may be harming). The sender is never told:
    they see it as sent, so a would-be abuser learns nothing."""
    if not message.from_provider:
        return False
    return sender_restricted or (finding is not None and finding.severity in (
        Severity.HIGH, Severity.CRITICAL))


def restricted_sender_finding(provider_id: int, provider_name: str,
                              first_message_id: int) -> Finding:
    """The finding that puts a restricted provider's messages in front of a broker: one open
    flag per provider gathers every message they send while restricted, so the broker sees one
    case with the held messages listed. Upholding it keeps them back (the sender is told they
    were not delivered); dismissing it, or lifting the restriction, lets them through.

    The first message's id is in the numbers so that a new episode after a reviewed one is
    filed afresh (a reviewed flag with the very same numbers is not filed again)."""
    # Medium: the flag asks a broker to read the messages. It is about the provider, not any
    # holder, so (at the default actions) it holds nobody's bookings; the provider is
    # restricted already. The explanation is shown to the provider if a broker upholds it.
    return Finding(
        RESTRICTED_SENDER_RULE, Severity.MEDIUM, Subject("provider", provider_id),
        f"{provider_name} sent messages to people they support while their listings were "
        "suspended or their payouts held. Such messages wait for a broker to read them before "
        "anyone sees them.",
        {"provider_id": provider_id, "first_message_id": first_message_id})


def clean_body(text: str | None) -> str:
    """The body as it will be stored, or InvalidInput naming the `body` field."""
    body = (text or "").replace("\r\n", "\n").strip()
    if not body:
        raise InvalidInput("Enter a message", field="body")
    if len(body) > MAX_BODY_LENGTH:
        raise InvalidInput(f"Enter a message of {MAX_BODY_LENGTH:,} characters or fewer "
                           f"(yours has {len(body):,})", field="body")
    return body


def message_finding(message: Message, provider_name: str, author_name: str,
                    settings: CouncilSettings) -> Finding | None:
    """The finding for one message, or None when the phrase matcher finds nothing.

    A provider's message goes through the registered `suspicious_messages` rule itself, so the
    flag filed when it is sent is the one a later scan would find (and so is not filed twice).
    The rule only reads provider messages; a message from the holder's side (often someone
    acting for them) gets a finding of the same rule name here, because a helper asking a
    provider for cash or secrecy is the "new helper takes over the money" pattern.
    """
    found = match_phrases(message.text)
    if not found:
        return None
    if message.from_provider:
        # The rule's window is [as_of - window, as_of): a moment after the message includes it.
        snapshot = MarketSnapshot(
            as_of=message.sent_at + timedelta(seconds=1), messages=(message,),
            providers=(Provider(message.provider_id, ProviderKind.PA_SELF_EMPLOYED,
                                provider_name),))
        findings = suspicious_messages(snapshot, settings)
        return findings[0] if findings else None
    serious = is_serious(found)
    what = "; ".join(LABELS[c] for c in found)
    return Finding(
        "suspicious_messages", Severity.HIGH if serious else Severity.MEDIUM,
        Subject("message", message.id),
        f"A message to {provider_name}, written by {author_name} on the budget holder's side, "
        f"{what}. Check who is asking and why.",
        {"provider_id": message.provider_id, "holder_id": message.holder_id,
         "categories": ",".join(found),
         "phrases": " | ".join(p for ps in found.values() for p in ps)})

