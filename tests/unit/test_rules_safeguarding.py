"""Safeguarding rules and the message phrase matcher, including its known false positives."""

from dataclasses import replace

import pytest

from app.domain.rules import Action, decide_action
from app.domain.rules.model import (
    Delegation,
    Holder,
    HouseholdLink,
    MarketSnapshot,
    Message,
    Provider,
    ProviderKind,
    Relationship,
    SafeguardingConcern,
)
from app.domain.rules.phrases import match_phrases
from app.domain.rules.safeguarding import (
    at_risk_clients_high_prices,
    at_risk_concentration,
    new_delegate_then_spending,
    paid_relative_in_household,
    provider_is_delegate,
    repeated_complaints,
    safeguarding_concern,
    suspicious_messages,
    undeclared_shared_address,
)
from app.domain.settings import CouncilSettings
from tests.unit.market import AS_OF, days_ago, listing, provider, session

SETTINGS = CouncilSettings()


@pytest.mark.parametrize("text, category", [
    ("Can you pay me in cash next time?", "cash"),
    ("Don't worry, just pay me in cash.", "cash"),
    ("Cash in hand is easier for me", "cash"),
    ("Could you withdraw £200 for me on the way?", "cash"),
    ("Please transfer the money to my account instead", "bank_transfer"),
    ("It's quicker if you pay by bank transfer", "bank_transfer"),
    ("I'll text you my sort code", "bank_transfer"),
    ("Pay me directly and we both save the fees", "bank_transfer"),
    ("Could you lend me £50 until Friday?", "loan"),
    ("I need a small loan for my car repairs", "loan"),
    ("Can I borrow 100 quid?", "loan"),
    ("Can you buy me a new phone?", "gift"),
    ("You could leave me in your will, I'm like family", "will_property"),
    ("What's the long number on your card?", "card_details"),
    ("I just need your card details to book the taxi", "card_details"),
    ("What's your PIN so I can get the shopping?", "card_details"),
    ("And the three digits on the back", "card_details"),
    ("Don't tell your daughter about this", "secrecy"),
    ("Let's keep this between us", "secrecy"),
    ("It's our little secret", "secrecy"),
    ("Nobody needs to know", "secrecy"),
    ("Please delete these messages after reading", "secrecy"),
    ("Don\u2019t tell the council", "secrecy"),  # a typographer's apostrophe
])
def test_requests_are_caught(text, category):
    assert category in match_phrases(text)


@pytest.mark.parametrize("text", [
    "I don't take cash, the council pays me through Carefair.",
    "Never share your card details with anyone, even me.",
    "Carefair pays me by bank transfer each month.",
    "We played cards and had a cup of tea.",
    "I brought a birthday card for your grandson.",
    "I'll pin the rota to the fridge.",
    "Thank you for the lovely gift, you shouldn't have.",
    "It's no secret I love gardening!",
    "Secret Santa at the club is on Friday.",
    "I borrowed a book from the library for you.",
    "The cashier at Tesco was very kind.",
    "You can pay with card or cash at the cafe.",
    "Don't tell me you've finished the whole crossword already!",
    "See you on Tuesday at 10.",
])
def test_ordinary_messages_are_not_flagged(text):
    assert match_phrases(text) == {}


@pytest.mark.parametrize("text, category", [
    ("Please pay me in ca\u200bsh next time.", "cash"),  # a zero-width space inside the word
    ("Please pay me in \u0441ash next time.", "cash"),  # a Cyrillic letter that looks Latin
    ("Please pay me in C A S H next time.", "cash"),  # spelt out
    ("Pay me in c.a.s.h please", "cash"),
    ("Pay me in c@sh", "cash"),  # a symbol for a letter
    ("Pay me in ca$h", "cash"),
    ("Pay me in \uff43\uff41\uff53\uff48", "cash"),  # fullwidth letters
    ("What is your P I N?", "card_details"),
    ("Keep this between u\u00ads", "secrecy"),  # a soft hyphen
])
def test_requests_disguised_to_dodge_the_words_are_caught(text, category):
    """Before: a provider hid a request from the check by breaking up or disguising the word."""
    assert category in match_phrases(text)


@pytest.mark.parametrize("text", [
    "Email me at anna@example.com about Tuesday.",
    "The taxi costs $20 from the airport.",
    "Plan A or B is fine by me.",
    "I'll be there at 10 a.m. sharp.",
    "My manager is J. R. Smith.",
])
def test_addresses_prices_and_initials_are_not_read_as_disguised_words(text):
    assert match_phrases(text) == {}


def test_sentences_are_checked_separately_so_a_safe_one_cannot_hide_a_request():
    text = "I don't take cash usually. But this time bring cash please."
    assert "cash" in match_phrases(text)


def message_snapshot(*messages):
    return MarketSnapshot(as_of=AS_OF, providers=(provider(1),), messages=messages)


def test_provider_asking_for_card_details_is_high_severity():
    snap = message_snapshot(Message(7, 5, 1, True, days_ago(1),
                                    "Hi! What's the long number on your card? Keep it between us."))
    found = suspicious_messages(snap, SETTINGS)
    assert len(found) == 1 and str(found[0].subject) == "message:7"
    assert found[0].severity == "high"
    assert found[0].numbers["categories"] == "card_details,secrecy"
    assert "asks for card details, a PIN or online banking; asks for secrecy" in \
        found[0].explanation


def test_one_request_for_cash_is_medium():
    snap = message_snapshot(Message(7, 5, 1, True, days_ago(1), "Bring cash on Friday please"))
    assert [f.severity for f in suspicious_messages(snap, SETTINGS)] == ["medium"]


def test_holders_own_messages_are_not_checked():
    snap = message_snapshot(Message(7, 5, 1, False, days_ago(1), "Can I pay you in cash?"))
    assert suspicious_messages(snap, SETTINGS) == []


def test_new_authorised_person_followed_by_new_spending_is_flagged():
    snap = MarketSnapshot(
        as_of=AS_OF, providers=(provider(1), provider(2)),
        delegations=(Delegation(5, 99, "authorised", days_ago(20)),),
        sessions=(session(1, 5, ago=100, amount=5000), session(1, 5, ago=10, amount=5000),
                  session(2, 5, ago=10, amount=8000), session(2, 5, ago=5, amount=8000)))
    found = new_delegate_then_spending(snap, SETTINGS)
    assert len(found) == 1 and str(found[0].subject) == "holder:5"
    assert found[0].numbers == {"delegate_user_id": 99, "new_spend_pence": 16000,
                                "provider_ids": "2", "sessions_booked_by_delegate": 0,
                                "days_from_delegation_to_spending": 10}


def test_look_back_finds_the_delegation_behind_spending_that_began_weeks_later():
    """Added 100 days ago (beyond the 60-day watch), spending from 30 days ago, booked by them."""
    spend = tuple(session(2, 5, ago=ago, amount=8000, booked_by_user_id=99) for ago in (30, 20))
    snap = MarketSnapshot(as_of=AS_OF, providers=(provider(2),), sessions=spend,
                          delegations=(Delegation(5, 99, "nominated", days_ago(100)),))
    found = new_delegate_then_spending(snap, SETTINGS)
    assert len(found) == 1
    assert found[0].numbers["days_from_delegation_to_spending"] == 70
    assert found[0].numbers["sessions_booked_by_delegate"] == 2
    # Nearest innocent: the same spending long after the delegate began (beyond the follow-on).
    late = replace(snap, delegations=(Delegation(5, 99, "nominated", days_ago(170)),))
    assert new_delegate_then_spending(late, SETTINGS) == []
    # Or with a provider the holder began with before the delegate, seen in the relationships.
    known = replace(snap, relationships=(Relationship(5, 2, days_ago(400)),))
    assert new_delegate_then_spending(known, SETTINGS) == []


def test_continuing_with_known_providers_or_a_circle_member_is_not_flagged():
    sessions = (session(1, 5, ago=100), session(1, 5, ago=10, amount=50_000))
    for kind in ("authorised", "circle"):
        snap = MarketSnapshot(as_of=AS_OF, providers=(provider(1),), sessions=sessions,
                              delegations=(Delegation(5, 99, kind, days_ago(20)),))
        assert new_delegate_then_spending(snap, SETTINGS) == []


def test_an_old_delegation_is_not_new():
    snap = MarketSnapshot(as_of=AS_OF, providers=(provider(2),),
                          delegations=(Delegation(5, 99, "nominated", days_ago(200)),),
                          sessions=(session(2, 5, ago=5, amount=50_000),))
    assert new_delegate_then_spending(snap, SETTINGS) == []


def at_risk_market(expensive_rate):
    holders = tuple(Holder(h, "north", at_risk=h in (1, 2, 3)) for h in range(1, 21))
    providers = tuple(provider(p) for p in range(1, 7))
    listings = tuple(listing(p, p, 1600) for p in range(2, 7)) + (listing(1, 1, expensive_rate),)
    sessions = tuple(session(1, h) for h in (1, 2, 3)) + tuple(
        session(2 + h % 5, h) for h in range(4, 21))
    return MarketSnapshot(as_of=AS_OF, holders=holders, providers=providers, listings=listings,
                          sessions=sessions)


def test_provider_serving_mostly_people_at_risk_at_high_prices_is_flagged():
    found = at_risk_clients_high_prices(at_risk_market(2400), SETTINGS)
    assert [str(f.subject) for f in found] == ["provider:1"]
    assert found[0].numbers["at_risk_share_percent"] == 100.0
    assert found[0].numbers["market_at_risk_percent"] == 15.0
    assert found[0].numbers["price_premium_percent"] == 50.0


def test_serving_people_at_risk_at_ordinary_prices_is_good_work_not_a_flag():
    assert at_risk_clients_high_prices(at_risk_market(1650), SETTINGS) == []


def test_paid_relative_in_same_household_without_agreement_is_flagged():
    sessions = (session(3, 5, ago=5),)
    link = HouseholdLink(5, 3, same_household=True)
    snap = MarketSnapshot(as_of=AS_OF, providers=(provider(3),), sessions=sessions,
                          household_links=(link,))
    found = paid_relative_in_household(snap, SETTINGS)
    assert len(found) == 1 and "unless the council agrees" in found[0].explanation
    agreed = MarketSnapshot(as_of=AS_OF, providers=(provider(3),), sessions=sessions,
                            household_links=(HouseholdLink(5, 3, True, council_agreed=True),))
    assert paid_relative_in_household(agreed, SETTINGS) == []
    elsewhere = MarketSnapshot(as_of=AS_OF, providers=(provider(3),), sessions=sessions,
                               household_links=(HouseholdLink(5, 3, same_household=False),))
    assert paid_relative_in_household(elsewhere, SETTINGS) == []


def test_provider_who_is_also_the_authorised_person_is_flagged():
    snap = MarketSnapshot(as_of=AS_OF, providers=(provider(3, users=frozenset({42})),),
                          delegations=(Delegation(5, 42, "authorised", days_ago(400)),),
                          sessions=(session(3, 5),))
    found = provider_is_delegate(snap, SETTINGS)
    assert [(str(f.subject), f.severity) for f in found] == [("holder:5", "high")]
    # Before any booking too: the first booking is the one that should wait for a broker.
    unbooked = MarketSnapshot(as_of=AS_OF, providers=snap.providers,
                              delegations=snap.delegations)
    assert [f.severity for f in provider_is_delegate(unbooked, SETTINGS)] == ["high"]
    circle = MarketSnapshot(as_of=AS_OF, providers=snap.providers, sessions=snap.sessions,
                            delegations=(Delegation(5, 42, "circle", days_ago(400)),))
    assert provider_is_delegate(circle, SETTINGS) == []


def test_safeguarding_concern_suspends_listings_and_holds_payouts_at_once():
    snap = MarketSnapshot(as_of=AS_OF, providers=(provider(3),), concerns=(
        SafeguardingConcern(1, 3, days_ago(0), "Bruising reported by a district nurse."),
        SafeguardingConcern(2, 3, days_ago(30), "Closed after review.", open=False)))
    found = safeguarding_concern(snap, SETTINGS)
    assert len(found) == 1
    assert found[0].numbers == {"concern_id": 1, "provider_id": 3, "kind": "safeguarding"}
    assert str(found[0].subject) == "concern:1"
    assert decide_action(found[0], SETTINGS) is Action.SUSPEND


def test_each_kind_of_concern_has_its_severity_and_never_names_the_reporter():
    concerns = (
        SafeguardingConcern(1, 3, days_ago(0), "Neglect", kind="safeguarding", holder_id=5,
                            reporter_user_id=5, reporter_kind="holder"),
        SafeguardingConcern(2, 3, days_ago(0), "", kind="fraud", reporter_user_id=77,
                            reporter_kind="provider"),
        SafeguardingConcern(3, 3, days_ago(0), "", kind="complaint", holder_id=6,
                            reporter_user_id=6, reporter_kind="holder"))
    snap = MarketSnapshot(as_of=AS_OF, providers=(provider(3),), concerns=concerns)
    found = safeguarding_concern(snap, SETTINGS)
    assert [(f.severity, decide_action(f, SETTINGS)) for f in found] == [
        ("critical", Action.SUSPEND), ("high", Action.HOLD), ("medium", Action.FLAG)]
    assert found[0].numbers["holder_id"] == 5
    for f in found:
        assert "77" not in f.explanation and "reporter" not in str(f.numbers)


def test_complaints_from_three_different_holders_are_flagged():
    def complaint(cid, holder, ago=10):
        return SafeguardingConcern(cid, 3, days_ago(ago), "", kind="complaint", holder_id=holder,
                                   reporter_user_id=holder, reporter_kind="holder", open=False)
    snap = MarketSnapshot(as_of=AS_OF, providers=(provider(3),),
                          concerns=(complaint(1, 5), complaint(2, 6), complaint(3, 7)))
    found = repeated_complaints(snap, SETTINGS)
    assert [(str(f.subject), f.numbers) for f in found] == [
        ("provider:3", {"holders": 3, "complaints": 3})]
    # Nearest innocent: three complaints from one unhappy person, or one that is too old.
    same = replace(snap, concerns=(complaint(1, 5), complaint(2, 5), complaint(3, 5)))
    assert repeated_complaints(same, SETTINGS) == []
    old = replace(snap, concerns=(complaint(1, 5), complaint(2, 6), complaint(3, 7, ago=200)))
    assert repeated_complaints(old, SETTINGS) == []


def test_a_shared_address_nobody_declared_is_flagged():
    holders = (Holder(5, "north", address_key="SY11AA|12 high st"),)
    providers = (Provider(3, ProviderKind.PA_SELF_EMPLOYED, "Sam", address_key="SY11AA|12 high st"),)
    snap = MarketSnapshot(as_of=AS_OF, holders=holders, providers=providers,
                          sessions=(session(3, 5, ago=5),))
    found = undeclared_shared_address(snap, SETTINGS)
    assert [(str(f.subject), f.numbers["provider_id"]) for f in found] == [("holder:5", 3)]
    declared = replace(snap, household_links=(HouseholdLink(5, 3, True, relationship="friend"),))
    assert undeclared_shared_address(declared, SETTINGS) == []
    next_door = replace(snap, providers=(replace(providers[0], address_key="SY11AA|14 high st"),))
    assert undeclared_shared_address(next_door, SETTINGS) == []


def test_a_relative_recorded_as_living_elsewhere_at_the_holders_address_is_flagged():
    """Before: any recorded link silenced the rule, so declaring a son "not living with them"
    hid a shared address from both household rules."""
    holders = (Holder(5, "north", address_key="SY11AA|12 high st"),)
    providers = (Provider(3, ProviderKind.PA_SELF_EMPLOYED, "Sam", address_key="SY11AA|12 high st"),)
    snap = MarketSnapshot(as_of=AS_OF, holders=holders, providers=providers,
                          sessions=(session(3, 5, ago=5),),
                          household_links=(HouseholdLink(5, 3, False, relationship="child"),))
    [found] = undeclared_shared_address(snap, SETTINGS)
    assert str(found.subject) == "holder:5" and "recorded as living elsewhere" in found.explanation
    # Nearest innocent: the same son really living elsewhere.
    apart = replace(snap, providers=(replace(providers[0], address_key="LS61AA|3 park rd"),))
    assert undeclared_shared_address(apart, SETTINGS) == []


def test_a_friend_in_the_household_is_not_a_close_relative():
    link = HouseholdLink(5, 3, same_household=True, relationship="friend")
    snap = MarketSnapshot(as_of=AS_OF, providers=(provider(3),), sessions=(session(3, 5, ago=5),),
                          household_links=(link,))
    assert paid_relative_in_household(snap, SETTINGS) == []
    sister = replace(snap, household_links=(replace(link, relationship="sibling"),))
    assert len(paid_relative_in_household(sister, SETTINGS)) == 1
    # A booking ahead counts too: the money is committed.
    ahead = replace(sister, sessions=(session(3, 5, ago=-7),))
    assert len(paid_relative_in_household(ahead, SETTINGS)) == 1


def test_at_risk_concentration_at_ordinary_prices_goes_to_a_broker():
    snap = at_risk_market(1650)
    found = at_risk_concentration(snap, SETTINGS)
    assert [(str(f.subject), f.severity) for f in found] == [("provider:1", "medium")]
    assert found[0].numbers["p_value"] < SETTINGS.at_risk_significance
    assert at_risk_clients_high_prices(at_risk_market(2400), SETTINGS) != [] and \
        at_risk_concentration(at_risk_market(2400), SETTINGS) == []


def test_at_risk_share_that_chance_explains_is_quiet():
    """3 of 4 clients at risk where 15% of the market is: 75%, but p = 0.012 (not < 0.01)."""
    holders = tuple(Holder(h, "north", at_risk=h in (1, 2, 3)) for h in range(1, 21))
    providers = tuple(provider(p) for p in range(1, 7))
    listings = tuple(listing(p, p, 1600) for p in range(1, 7))
    sessions = tuple(session(1, h) for h in (1, 2, 3, 4)) + tuple(
        session(2 + h % 5, h) for h in range(5, 21))
    snap = MarketSnapshot(as_of=AS_OF, holders=holders, providers=providers, listings=listings,
                          sessions=sessions)
    assert at_risk_concentration(snap, SETTINGS) == []
    assert at_risk_clients_high_prices(snap, SETTINGS) == []


def test_the_labelled_corpus_is_big_enough_and_the_matcher_meets_its_bar():
    """At least 200 concerning and 200 innocent sentences; on all of them the matcher keeps
    precision at 0.95 and recall at 0.9, and on the held-out part (never tuned on) recall
    stays above 0.75 (bench/phrases.py prints the figures)."""
    from bench.phrases import load, score

    rows = load()
    overall = score(rows)
    assert overall["concerning"] >= 200 and overall["innocent"] >= 200
    assert overall["precision"] >= 0.95 and overall["recall"] >= 0.9
    holdout = score([r for r in rows if r["set"] == "holdout"])
    assert holdout["concerning"] >= 40 and holdout["recall"] >= 0.75
    assert holdout["precision"] >= 0.95


@pytest.mark.parametrize("text", [
    "I would never ask for your PIN.",
    "You don't need to bring any cash on Saturday.",
    "I'm not allowed to take money from clients.",
    "Please don't give anyone your bank details over the phone.",
])
def test_negated_requests_are_not_requests(text):
    assert match_phrases(text) == {}


@pytest.mark.parametrize("text", [
    "Why don't you lend me twenty quid?",
    "Can't you just pay me in cash this once?",
])
def test_questions_with_a_negative_are_still_requests(text):
    assert match_phrases(text) != {}
