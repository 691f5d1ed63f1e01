"""'Did you mean': the closest known word within two edits, common words first."""

from app.domain.spelling import Speller, edit_distance

WORDS = {"dementia": 40, "dentist": 3, "swimming": 5, "walking": 9, "befriending": 7,
         "carer": 30, "career": 2}


def speller() -> Speller:
    return Speller(WORDS, WORDS.get)


def test_a_missing_letter_an_extra_letter_a_wrong_letter_and_a_swap_are_corrected():
    s = speller()
    assert s.suggest("demntia") == "dementia"
    assert s.suggest("swimmming") == "swimming"
    assert s.suggest("walkinf") == "walking"
    assert s.suggest("befreinding") == "befriending"


def test_a_known_word_and_a_word_nothing_like_any_listing_get_no_suggestion():
    s = speller()
    assert s.suggest("dementia") is None
    assert s.suggest("xylophone") is None


def test_between_equally_close_words_the_more_common_wins():
    assert speller().suggest("carrer") == "carer"  # "career" is as close but rarer


def test_edit_distance_counts_a_swap_as_one_edit():
    assert edit_distance("abcd", "abdc") == 1
    assert edit_distance("kitten", "sitting") == 3
