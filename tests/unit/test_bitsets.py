"""Sets of listings as bitsets, and the order both search backends return matches in."""

from app.adapters.search.bitsets import (
    from_text,
    mask_of,
    ordered_matches,
    positions,
    title_tiers,
    to_text,
)


def test_positions_come_back_in_order_and_the_text_form_is_postgresqls():
    mask = mask_of([0, 3, 9, 15], 16)
    assert positions(mask, 16) == [0, 3, 9, 15]
    assert to_text(mask, 16) == "1001000001000001"  # bit 0 first, as `bit varying` prints it
    assert from_text("1001000001000001") == mask


def test_matches_are_split_by_how_many_searched_words_are_in_the_title():
    match = mask_of([1, 2, 3, 4], 8)
    first_word_in_title = mask_of([1, 2], 8)
    second_word_in_title = mask_of([2, 3], 8)
    tiers = [(count, positions(m, 8)) for count, m in
             title_tiers(match, [first_word_in_title, second_word_in_title])]
    assert tiers == [(2, [2]), (1, [1, 3]), (0, [4])]


def test_listings_with_the_words_in_the_title_come_first_then_the_sort_order():
    match = mask_of([1, 2, 3, 4, 5], 8)
    title = mask_of([4, 5], 8)

    def first(mask, wanted):  # this sort order: highest position first
        return sorted(positions(mask, 8), reverse=True)[:wanted]

    found = ordered_matches(match, [title], 1, 4, first)
    assert [p for p, _ in found] == [5, 4, 3, 2]
    assert [r for _, r in found] == [1.0, 1.0, 0.5, 0.5]
    assert ordered_matches(match, None, 0, 2, first) == [(5, 0.0), (4, 0.0)]
