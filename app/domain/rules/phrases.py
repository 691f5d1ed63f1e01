"""A careful matcher for messages asking for cash, transfers, loans, gifts, card details, secrecy.

Each category is a few regular expressions for requests, plus "safe" patterns for the usual
innocent sentences that share their words (a warning never to share card details, "I don't
take cash", a birthday card). Sentences are checked one at a time so a safe sentence cannot
hide a request in the next one. It will miss clever wording: it is a prompt for a broker, not a
verdict, and tests keep both its hits and its known false positives honest.
"""

from __future__ import annotations

import re

W = r"(?:\s+[\w'£]+){0,%d}"  # up to N intervening words

_RAW: dict[str, tuple[list[str], list[str]]] = {
    "cash": (
        [r"\bcash (?:only|in hand|payment|please)\b",
         r"\b(?:pay|paying|give|bring|leave|want|need|prefer|get)\b" + W % 3 + r"\s+(?:in )?cash\b",
         r"\b(?:withdraw|take out|get out)\b" + W % 3 + r"\s+(?:money|cash|£\s?\d+)"],
        [r"\b(?:no|not|never|don't|do not|won't|will not|can't|cannot)\b" + W % 2
         + r"\s+(?:take|accept|need|want|handle|carry)?\s*cash\b",
         r"\bnot (?:in|by) cash\b",
         r"\b(?:card or cash|cash or card)\b"],  # how a cafe or venue takes payment
    ),
    "bank_transfer": (
        [r"\b(?:pay|send|do|make)\b" + W % 2 + r"\s+(?:a |by )?bank transfer\b",
         r"\bbank transfer (?:to me|instead)\b",
         r"\b(?:transfer|send|move|put)\b" + W % 4 + r"\s+(?:to|into) my (?:bank|account)\b",
         r"\bmy (?:sort code|account number|bank details)\b",
         r"\bpay me (?:directly|direct|outside|off the app|off carefair)\b"],
        [r"\b(?:council|carefair)\b" + W % 4 + r"\s+(?:pays?|paid)\b"],
    ),
    "loan": (
        [r"\b(?:lend|loan) me\b",
         r"\b(?:a|small|quick|little) loan\b",
         r"\bborrow\b" + W % 3 + r"\s+(?:money|cash|£\s?\d+|\d+\s?(?:pounds|quid))",
         r"\b(?:spare|advance)\b" + W % 2 + r"\s+(?:money|cash|£\s?\d+)"],
        [],
    ),
    "gift": (
        [r"\bbuy me\b",
         r"\b(?:give|gift) me\b" + W % 3 + r"\s+(?:money|jewellery|ring|watch|car|£\s?\d+)",
         r"\b(?:leave|put) me in (?:your|the) will\b",
         r"\b(?:a )?(?:present|gift|tip|bonus) for me\b",
         r"\bgift (?:of|for) (?:money|£\s?\d+)"],
        [r"\bthank(?:s| you) for (?:the|my|your)\b"],
    ),
    "card_details": (
        [r"\b(?:your|the) (?:card|bank) (?:details|number)\b",
         r"\blong number on\b",
         r"\b(?:your|the) pin\b",
         r"\bpin (?:number|code)\b",
         r"\b(?:security|cvv|cvc) (?:code|number)\b|\bcvv\b|\bcvc\b",
         r"\b(?:three|3) (?:digits|numbers) on the back\b",
         r"\b(?:give|lend|hand|leave) me your (?:bank |debit |credit )?card\b",
         r"\byour (?:online banking |banking )?password\b"],
        [r"\b(?:never|don't|do not|not|nobody will)\b" + W % 3
         + r"\s+(?:your |the )?(?:card|bank|pin|password|security|cvv|long number)"],
    ),
    "secrecy": (
        [r"\b(?:don't|do not|no need to|shouldn't|mustn't|better not|won't)\s+tell\s+"
         r"(?:anyone|anybody|your|the council|the broker|social services|carefair|them)\b",
         r"\bkeep (?:this|it|that)\s+(?:between (?:us|you and me|ourselves)|a secret|secret"
         r"|to yourself)\b",
         r"\b(?:our|a) (?:little )?secret\b(?! santa)",
         r"\bbetween you and me\b",
         r"\bdelete (?:this|these|my|our) (?:message|messages|texts?)\b",
         r"\b(?:nobody|no one|no-one) (?:needs|has) to know\b"],
        [],
    ),
}

# One alternation per category: a scan of thousands of messages runs one search, not dozens.
_NEVER = r"(?!x)x"
PATTERNS = {category: (re.compile("|".join(f"(?:{p})" for p in hits)),
                       re.compile("|".join(f"(?:{p})" for p in safe) or _NEVER))
            for category, (hits, safe) in _RAW.items()}

LABELS = {
    "cash": "asks for cash",
    "bank_transfer": "asks for a bank transfer or payment outside Carefair",
    "loan": "asks for a loan",
    "gift": "asks for a gift",
    "card_details": "asks for card or bank details",
    "secrecy": "asks for secrecy",
}


def _sentences(text: str) -> list[str]:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return [" ".join(s.split()) for s in re.split(r"[.!?;\n]+", text) if s.strip()]


def match_phrases(text: str) -> dict[str, list[str]]:
    """The categories a message falls into, each with the phrases that matched."""
    found: dict[str, list[str]] = {}
    for sentence in _sentences(text):
        for category, (hits, safe) in PATTERNS.items():
            if safe.search(sentence):
                continue
            matched = [m.group(0) for m in hits.finditer(sentence)]
            if matched:
                found.setdefault(category, []).extend(matched)
    return found
