"""A matcher for financial abuse in messages: the kinds in the Care Act statutory guidance (ch. 14).

Borrowing and loans, requests for cash, gifts and purchases, card details, PINs and online
banking, transfers to a personal account, pressure about wills or property, and secrecy from
family or professionals. Each kind is a few regular expressions written for ordinary variation
in wording (a request verb, up to a few words, then the thing asked for), plus:

* negation: a request whose clause says it is not one ("I would never ask for your PIN",
  "you don't need to bring cash") is not a hit. Questions such as "why don't you lend me" and
  "can't you" are still requests;
* safe contexts per kind: the innocent sentences that share the words (a bank holiday, a
  birthday card, "Carefair pays me", borrowing a ladder, a surprise party).

Sentences are checked one at a time so a safe sentence cannot hide a request in the next one.
It is a prompt for a broker, not a verdict. tests/data/financial_abuse_corpus.tsv is a labelled
corpus of concerning and innocent sentences and bench/phrases.py prints precision and recall.
"""

from __future__ import annotations

import re
import unicodedata

W = r"(?:\s+[\w'£.,-]+){0,%d}"  # up to N intervening words
MONEY = (r"(?:money|cash|£\s?\d[\d,.]*|\d+\s?(?:pounds|quid|pound)|a (?:few|couple of) "
         r"(?:quid|pounds|hundred|grand)|(?:a )?(?:fiver|tenner|score|grand)|some dosh|funds|"
         r"the rent|my rent|my bills?)")
PERSONAL = (r"(?:my|me|my own|my personal|my partner's|my son's|my daughter's|my wife's|"
            r"my husband's|my mum's)")
FAMILY_OR_PROFESSIONALS = (
    r"(?:anyone|anybody|any ?one|your (?:family|daughter|son|kids|children|sister|brother|"
    r"niece|nephew|grandson|granddaughter|wife|husband|partner|social worker|broker|"
    r"care manager|doctor|gp|nurse|friends?|carer|advocate|bank)|the (?:council|broker|"
    r"social worker|office|agency|bank|police|family|nurse|doctor|gp|carers?|manager|"
    r"neighbours?|staff)|social services|carefair|them|him|her)")

_RAW: dict[str, tuple[list[str], list[str]]] = {
    "loan": (
        [r"\b(?:lend|loan|sub|spot|front|advance)\s+(?:me|us)\b",
         r"\b(?:a|small|quick|little|short[- ]term|wee) loan\b",
         r"\bborrow\b" + W % 4 + r"\s+" + MONEY,
         r"\bborrow(?:ing)? (?:from you|off you|some|a bit|a little)\b",
         r"\b(?:a bit|some|a little|a few quid|a tenner)\s+(?:from|off) you\b",
         r"\bhelp me out\b" + W % 4 + r"\s+(?:with )?" + MONEY,
         r"\b(?:i'll|i will|i'd|i would|i can|i promise to)\s+(?:pay|give) (?:you|it) back\b",
         r"\bpay you back\b",
         r"\b(?:tide|see) me (?:over|through)\b",
         r"\b(?:short|skint|broke|strapped)\b" + W % 6 + r"\s+(?:could|can|would) you\b"],
        [r"\bborrow (?:your|a|the) (?:ladder|pen|book|umbrella|charger|dvd|film|hoover|"
         r"wheelchair|car park pass|bus pass)\b",
         r"\blend (?:me |you )?a hand\b", r"\blend (?:me |you )?an ear\b",
         r"\blibrary\b"],
    ),
    "cash": (
        [r"\bcash (?:only|in hand|payment|please|instead|is better|is easier|works better)\b",
         r"\b(?:pay|paying|paid|give|bring|leave|hand|want|need|prefer|get|have|put)\b"
         + W % 4 + r"\s+(?:in )?(?:cash|notes)\b",
         r"\b(?:withdraw|take out|get out|draw out|pull out)\b" + W % 4 + r"\s+(?:some )?"
         r"(?:money|cash|£\s?\d+|\d+\s?(?:pounds|quid))",
         r"\b(?:cash ?point|cash machine|atm|hole in the wall)\b" + W % 6
         + r"\s+(?:for me|me|money|£\s?\d+)",
         r"\b(?:stop|go|pop)\b" + W % 3 + r"\s+(?:at |to |by )?(?:the )?(?:cash ?point|atm|"
         r"cash machine|post office)\b" + W % 6 + r"\s+(?:for|and get|to get) (?:me|money|£)",
         r"\bleave (?:it|the money|money|an envelope)\b" + W % 5
         + r"\s+(?:under|in|on|by) (?:the|your) (?:mat|doormat|drawer|table|kitchen|side)"],
        [r"\b(?:card or cash|cash or card|cash and card|cash machine in the)\b",
         r"\bcash ?back\b", r"\bpetty cash\b", r"\bcash flow\b",
         r"\b(?:shop|cafe|café|bus|canteen|venue|market|stall|driver|tuck shop|kiosk|bingo|"
         r"raffle|charity|collection|vending)\b" + W % 8 + r"\s+(?:cash|notes)\b",
         r"\b(?:cash|notes)\b" + W % 8 + r"\s+(?:for|at|in) (?:the )?(?:shop|cafe|café|bus|"
         r"canteen|venue|market|stall|tuck shop|kiosk|bingo|raffle|lunch|cinema|vending)\b",
         r"\byour (?:own )?(?:lunch|ticket|shopping|bus fare|coffee)\b"],
    ),
    "bank_transfer": (
        [r"\b(?:pay|send|do|make|prefer)\b" + W % 3 + r"\s+(?:a |by |via )?(?:bank transfer|"
         r"direct transfer|bacs|faster payment)\b",
         r"\b(?:bank )?transfer (?:to me|it to me|instead|directly|straight)\b",
         r"\b(?:transfer|send|move|put|pay|wire|bank)\b" + W % 5 + r"\s+(?:to|into|in) "
         + PERSONAL + r"\s+(?:\w+ )?(?:bank|account|acc|savings)\b",
         r"\b" + PERSONAL + r" (?:sort code|account number|account details|bank details|"
         r"bank account details|paypal|revolut|monzo)\b",
         r"\bpay (?:me|us) (?:directly|direct|privately|outside|off the app|off carefair|"
         r"separately|on the side|through paypal|by paypal|on paypal|by revolut|on revolut)\b",
         r"\b(?:outside|off|around|instead of) (?:of )?(?:carefair|the app|the site|the "
         r"system|the platform)\b",
         r"\bpaypal me\b",
         r"\bstanding order to me\b"],
        [r"\b(?:council|carefair|the app|the system|the platform)\b" + W % 5
         + r"\s+(?:pays?|paid|paying|will pay|sends?|transfers?)\b",
         r"\bthrough carefair\b(?! instead)"],
    ),
    "gift": (
        [r"\bbuy (?:me|us)\b(?! (?:a )?(?:minute|moment|second|some time))",
         r"\b(?:give|gift|let me have|pass on)\b (?:me|us)\b" + W % 4 + r"\s+(?:money|"
         r"jewellery|jewelry|ring|rings|watch|necklace|car|brooch|medals?|savings|£\s?\d+|"
         r"\d+\s?(?:pounds|quid)|a present|a gift|something|a little something|a tip|a bonus|"
         r"the (?:car|ring|watch|tv|telly))",
         r"\b(?:a )?(?:present|gift|tip|bonus|little something|thank[- ]you gift)\b"
         + W % 2 + r"\s+for (?:me|us|my (?:help|trouble|time))\b",
         r"\bgift (?:of|for) (?:money|£\s?\d+)",
         r"\b(?:love|like|want|fancy|expect|deserve|earned)\b (?:a |some |an? extra )?(?:gift|"
         r"present|tip|bonus|reward|little something|something extra)\b",
         r"\b(?:ring|watch|necklace|brooch|jewellery|jewelry|earrings|bracelet|car|coat)\b"
         + W % 1 + r"\s+would (?:look|suit|go|be) (?:lovely|nice|good|great|perfect|better)"
         r" (?:on|with|for) me\b",
         r"\blet (?:me|us) have your\b" + W % 2 + r"\s+(?:savings|money|ring|watch|"
         r"jewellery|jewelry|car|necklace|brooch|medals?|tv|telly|pension|house|flat)\b",
         r"\b(?:pass on|hand down|hand over|give|leave)\s+your\b" + W % 2
         + r"\s+(?:savings|money|ring|rings|watch|jewellery|jewelry|car|necklace|brooch|"
         r"medals?)\s+to (?:me|us)\b",
         r"\b(?:give|gift|slip|bung)\s+(?:me|us)\b" + W % 2 + r"\s+" + MONEY,
         r"\b(?:you|you could|you can|you should|why not) (?:give|leave|let) (?:me|us) (?:have )?"
         r"(?:your|that|the|those)\b" + W % 2 + r"\s+(?:ring|watch|jewellery|jewelry|car|"
         r"necklace|brooch|medals?|tv|telly|savings|money)\b",
         r"\b(?:show|prove) (?:your )?(?:thanks|gratitude|appreciation)\b" + W % 4
         + r"\s+(?:money|£|a gift|a present|cash)"],
        [r"\bthank(?:s| you) for (?:the|my|your)\b", r"\bbirthday (?:card|party)\b",
         r"\b(?:for|to) (?:your|her|his|their) (?:grandson|granddaughter|daughter|son|niece|"
         r"nephew|friend|sister|brother|mum|dad|wife|husband|grandchildren|grandkids)\b",
         r"\bbuy (?:me|us) (?:a )?(?:minute|moment|second|some time)\b",
         r"\bi (?:can't|cannot|can not|am not allowed to|must not|mustn't) accept\b",
         r"\bnot allowed to (?:accept|take)\b"],
    ),
    "purchase": (
        [r"\b(?:could|can|would|will) you\b" + W % 2 + r"\s+(?:buy|pay for|order|get|"
         r"top up|cover)\b" + W % 2 + r"\s+(?:my|me a|me some|me the|for me|my own)\b",
         r"\b(?:pay|paying|cover|covering|settle|chip in for|put)\b" + W % 2 + r"\s+(?:for )?"
         r"my(?: \w+)? (?:petrol|diesel|fuel|shopping|phone bill|phone|rent|bills?|gas|electric|"
         r"council tax|car|insurance|holiday|tickets?|groceries|mortgage|fine|debt|loan)\b",
         r"\b(?:put|add|stick|charge)\b" + W % 3 + r"\s+(?:it |this |that |them )?(?:on|to) (?:your|"
         r"the) (?:card|account|tab|bill)\b" + W % 4 + r"\s*(?:for me)?",
         r"\b(?:use|with) your (?:card|money|account)\b" + W % 4
         + r"\s+(?:for (?:me|my)|to (?:buy|get|order) (?:me|my))",
         r"\border (?:me|it for me)\b" + W % 4 + r"\s+(?:on|with) your\b"],
        [r"\b(?:your|her|his|the) (?:own )?(?:shopping|prescription|groceries|lunch)\b",
         r"\bfor (?:yourself|you)\b(?! and me)",
         r"\b(?:receipt|receipts)\b"],
    ),
    "card_details": (
        [r"\b(?:your|the|ur) (?:card|bank|debit card|credit card|bank card) (?:details|number|"
         r"info|information|pin)\b",
         r"\blong (?:card )?number\b",
         r"\b(?:photo|picture|pic|copy|scan|snap)\s+of (?:your|the|both sides of your) (?:bank |"
         r"debit |credit )?card\b",
         r"\b(?:your|the|ur) pin\b(?! (?:badge|board|cushion))",
         r"\bpin (?:number|code|no)\b",
         r"\b(?:security|cvv|cvc|cv2) (?:code|number)\b|\bcvv\b|\bcvc\b|\bcv2\b",
         r"\b(?:three|3) (?:digits|numbers) on the back\b",
         r"\b(?:(?:give|lend|hand|leave|pass) me|let me (?:have|use|borrow|keep|hold)|can i "
         r"(?:have|use|borrow|keep|hold)|i'll (?:keep|hold|mind))\b" + W % 1 + r"\s*your (?:bank |"
         r"debit |credit |cash |post office )?(?:card|cards|purse|wallet|cheque ?book|chequebook|"
         r"bank book|pension book)\b",
         r"\b(?:your|the|ur) (?:online banking|banking app|bank app|internet banking|mobile "
         r"banking)\b" + W % 3 + r"\s*(?:password|login|log ?in|details|passcode|code|access)?",
         r"\b(?:your|the) (?:banking |bank |online banking |app )?(?:password|passcode|"
         r"login details|log ?in details|memorable (?:word|information|info))\b",
         r"\b(?:code|passcode|otp|one[- ]time (?:code|passcode)) (?:the bank|they|that) "
         r"(?:sends?|sent|texts?|texted)\b",
         r"\b(?:read|tell|send|give) me\b" + W % 2 + r"\s+(?:the )?(?:code|passcode|numbers?)\b"
         + W % 5 + r"\s+(?:bank|text|card|phone)\b",
         r"\blog (?:in|into|on to|onto) your (?:bank|account|banking)\b",
         r"\b(?:let me|i can|i'll|i will|i could) (?:do|sort|manage|handle|look after|take "
         r"care of) your (?:banking|bank account|finances|money|pension|benefits)\b"],
        [r"\b(?:never|don't|do not|not|nobody will|no one will|no-one will|won't|will not)\b"
         + W % 4 + r"\s+(?:share|give|tell|ask|need)\b" + W % 4 + r"\s+(?:your |the |a )?"
         r"(?:card|bank|pin|password|security|cvv|long number|details|passcode|code)",
         r"\b(?:keep|keeps|keeping|kept) (?:your|the) (?:pin|card|card details|password|"
         r"details|bank details)\b" + W % 3
         + r"\s+(?:safe|secret|private|to yourself)\b",
         r"\b(?:remember|forget|forgot|bring|take|got|have) (?:to bring )?your (?:bank |debit )?"
         r"card\b(?! (?:and |& )?(?:pin|number|details))",
         r"\b(?:bus|railcard|library|loyalty|blue badge|birthday|get well|christmas|"
         r"greetings|thank you|nectar|clubcard|oyster|concession|pass) card\b",
         r"\bcard reader\b", r"\bpin (?:badge|board|it|them|up)\b",
         r"\bchip and pin machine\b"],
    ),
    "will_property": (
        [r"\b(?:put|putting|leave|leaving|include|including|name|naming|add|adding|mention|"
         r"remember|write|writing)\s+(?:me|us)\b" + W % 2
         + r"\s+(?:in|into|to) (?:your|the|ur) will\b",
         r"\b(?:be|get|am|being|were) (?:named|mentioned|included|put|written|left something)"
         r" in (?:your|the|ur) will\b",
         r"\b(?:change|update|redo|rewrite|alter|sign)\b" + W % 2
         + r"\s+(?:your|the|ur) will\b",
         r"\b(?:leave|give|sign|transfer|put|sign over|hand over)\b" + W % 2
         + r"\s+(?:the|your) (?:house|flat|bungalow|home|property|cottage|savings)\b" + W % 3
         + r"\s+(?:to|over to|in) (?:me|my name|us)\b",
         r"\b(?:sign|make|put)\b" + W % 3 + r"\s+(?:the )?(?:house|flat|property|deeds|home)"
         r"\b" + W % 2 + r"\s+(?:over to me|in my name|into my name)\b",
         r"\b(?:make|name|give) me\b" + W % 2 + r"\s+(?:your )?(?:power of attorney|attorney|"
         r"lpa|executor|beneficiary)\b",
         r"\b(?:power of attorney|lpa)\b" + W % 4 + r"\s+(?:to me|for me|in my name)\b",
         r"\b(?:your|the) (?:inheritance|estate)\b" + W % 5 + r"\s+(?:me|mine|my)\b",
         r"\bwhen you(?:'re| are) gone\b" + W % 6 + r"\s+(?:me|my|mine)\b",
         r"\bdeserve\b" + W % 3 + r"\s+(?:the house|something|your|the flat|the money|"
         r"a share|something for)"],
        [r"\b(?:citizens advice|age uk|advocate|independent)\b" + W % 8
         + r"\s+(?:will|lpa|attorney)\b",
         r"\byour solicitor\b"],
    ),
    "secrecy": (
        [r"\b(?:do not|don't|dont|no need to|never|better not|best not|mustn't|must not|"
         r"shouldn't|should not|please don't|please do not|try not to)\s+(?:tell|mention|say|"
         r"speak|talk|let on|breathe a word|show|say anything)\b" + W % 2 + r"\s*(?:about "
         r"(?:this|it|that|the money|our)\b" + W % 3 + r"\s*)?(?:to |with )?"
         + FAMILY_OR_PROFESSIONALS + r"\b",
         r"\b(?:keep|kept|keeping)\s+(?:this|it|that|the money|our arrangement|what i said|"
         r"the loan|our chat|our deal)\s+(?:between (?:us|you and me|ourselves|the two of us)|"
         r"a secret|secret|quiet|hush[- ]hush|to yourself|under your hat|from)\b",
         r"\b(?:our|a) (?:little |small )?secret\b(?! (?:santa|garden|ingredient|recipe|door|"
         r"passage|admirer|weapon|service|code|menu|tunnel|room))",
         r"\bbetween (?:you and me|you and i|ourselves|the two of us)\b",
         r"\b(?:delete|remove|get rid of|wipe|clear)\s+(?:this|these|my|our|the|that) "
         r"(?:message|messages|texts?|chat|conversation)\b",
         r"\b(?:nobody|no one|no-one|no body)\s+(?:needs|has|have|need) to know\b",
         r"\b(?:they|your family|the council|the broker|your daughter|your son|social "
         r"services) (?:don't|do not|wouldn't|would not|won't|will not) (?:need to |have to )?"
         r"(?:know|understand|find out)\b",
         r"\bwhat they don't know\b",
         r"\boff the record\b", r"\bhush money\b"],
        [r"\b(?:tell|give|share)\s+(?:anyone|anybody|them|him|her|people)?\s*(?:your|the)"
         r"(?: \w+){0,2} (?:pin|password|passcode|card|bank|details|code|login)",
         r"\b(?:surprise|party|birthday|christmas|present for|secret santa|anniversary|"
         r"recipe|spoiler|spoil|ending|crossword|quiz|game|puzzle|the answer)\b",
         r"\bi (?:won't|will not|wouldn't|would never|will never) (?:tell|say|mention)\b",
         r"\bconfidential\b" + W % 6 + r"\s+(?:unless|except|safeguarding|the law)\b",
         r"\b(?:don't|do not) (?:tell|mention) (?:me|her|him)\b" + W % 6
         + r"\s+(?:spoil|ending|answer|score|result|plot)\b"],
    ),
}

# One alternation per category: a scan of thousands of messages runs one search, not dozens.
_NEVER = r"(?!x)x"
PATTERNS = {category: (re.compile("|".join(f"(?:{p})" for p in hits)),
                       re.compile("|".join(f"(?:{p})" for p in safe) or _NEVER))
            for category, (hits, safe) in _RAW.items()}

# A request in a clause that says it is not one. "Why don't you", "can't you", "won't you" are
# still requests; secrecy requests are themselves negative ("don't tell"), so never negated.
_NEGATION = re.compile(
    r"\b(?:never|not|nobody|no one|no-one|don't|do not|dont|won't|will not|cannot|can't|"
    r"shouldn't|should not|mustn't|must not|no need to|wouldn't|would not|isn't|aren't|"
    r"didn't|did not|refuse to|nor)\b(?! you\b)")
_NOT_A_NEGATION = re.compile(r"\bwhy (?:not|don't|dont|won't|can't)\b|\bif not\b")
_CLAUSE_BREAK = re.compile(r",|\bbut\b|\bhowever\b|\bthough\b|\bso\b|\band\b|\bor\b|:")
_NEVER_NEGATED = frozenset({"secrecy"})
# Advice about what to do if someone asks ("if anyone asks for your PIN, tell your broker"):
# innocent for every kind but secrecy ("if anyone asks, say I was here" is not advice).
_ADVICE = re.compile(r"\bif (?:anyone|anybody|someone|somebody|a message|they|a caller|a "
                     r"stranger|people|any ?one)\b" + W % 2 + r"\s+(?:asks?|wants?|requests?|"
                     r"rings?|calls?)\b")

LABELS = {
    "cash": "asks for cash",
    "bank_transfer": "asks for a bank transfer or payment outside Carefair",
    "loan": "asks to borrow money",
    "gift": "asks for a gift",
    "purchase": "asks the person to buy or pay for something for them",
    "card_details": "asks for card details, a PIN or online banking",
    "will_property": "raises the person's will or property",
    "secrecy": "asks for secrecy",
}
SERIOUS = frozenset({"card_details", "secrecy", "will_property"})

_CONTRACTIONS = [
    (r"\bcan'?t\b", "can't"), (r"\bwon'?t\b", "won't"), (r"\bi'?m\b", "i'm"),
    (r"\bcould ya\b", "could you"), (r"\bu\b", "you"), (r"\bur\b", "your"), (r"\bpls\b", "please"),
    (r"\bplz\b", "please"), (r"\bgimme\b", "give me"), (r"\bwanna\b", "want to"),
    (r"\bgotta\b", "got to"), (r"\bcud\b", "could"), (r"\bthx\b", "thanks"),
]
_CONTRACTIONS_RE = [(re.compile(p), r) for p, r in _CONTRACTIONS]


# Letters from other scripts that look like Latin ones: a sender hiding "cash" as "\u0441ash"
# (Cyrillic es) or "\u03bfnline" (Greek omicron) is read as writing the Latin word.
_LOOKALIKES = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u0501\u051b\u051d\u04bb\u0432\u043a\u043c\u043d\u0442"
    "\u03bf\u03b1\u03b5\u03b9\u03ba\u03bd\u03c1\u03c4\u03c5\u03c7",
    "aeopcyxijsdqwhbkmht"
    "oaeikvptux")
# "c@sh", "ca$h": a symbol standing for a letter inside a word.
_SYMBOL_LETTER = re.compile(r"(?<=[a-z])[@$](?=[a-z])|(?<=[a-z])\$|\$(?=[a-z]{2})|@(?=[a-z]{2,}\b)")
_TOKEN = re.compile(r"\S+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _symbols_as_letters(token: re.Match[str]) -> str:
    word = token.group(0)
    if _EMAIL.search(word):  # an email address keeps its @
        return word
    return _SYMBOL_LETTER.sub(lambda m: "a" if m.group(0) == "@" else "s", word)


# "c a s h", "c.a.s.h", "c-a-s-h": three or more single letters spaced out to dodge a word.
_SPACED_OUT = re.compile(r"\b(?:[a-z][ .\-_*]){2,}[a-z]\b")


def fold(text: str) -> str:
    """The text as the patterns read it: lower case, compatibility forms folded (fullwidth and
    styled letters), invisible characters (zero-width spaces, soft hyphens) dropped, lookalike
    letters from other scripts read as Latin, and letters spelt out or swapped for symbols put
    back together. Only for matching: the message is stored and shown as it was written."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf").lower()
    text = text.translate(_LOOKALIKES)
    text = _TOKEN.sub(_symbols_as_letters, text)
    return _SPACED_OUT.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), text)


def _sentences(text: str) -> list[str]:
    text = fold(text).replace("\u2019", "'").replace("\u2018", "'").replace("\u00a3", "£")
    for pattern, replacement in _CONTRACTIONS_RE:
        text = pattern.sub(replacement, text)
    return [" ".join(s.split()) for s in re.split(r"(?<!\d)[.!?;\n]+(?!\d)", text) if s.strip()]


def _negated(sentence: str, start: int) -> bool:
    """Whether the clause before position `start` says the request is not one."""
    before = sentence[:start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    clause = before[breaks[-1].end():] if breaks else before
    return bool(_NEGATION.search(clause)) and not _NOT_A_NEGATION.search(clause)


def match_phrases(text: str) -> dict[str, list[str]]:
    """The categories a message falls into, each with the phrases that matched."""
    found: dict[str, list[str]] = {}
    for sentence in _sentences(text):
        advice = bool(_ADVICE.search(sentence))
        for category, (hits, safe) in PATTERNS.items():
            if safe.search(sentence) or (advice and category != "secrecy"):
                continue
            matched = [m.group(0).strip() for m in hits.finditer(sentence)
                       if category in _NEVER_NEGATED or not _negated(sentence, m.start())]
            if matched:
                found.setdefault(category, []).extend(matched)
    return found


def is_serious(categories: dict[str, list[str]] | list[str]) -> bool:
    """Card details, secrecy, a will or property, or more than one kind at once."""
    found = set(categories)
    return bool(found & SERIOUS) or len(found) > 1
