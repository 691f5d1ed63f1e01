"""The week as a grid of hour checkboxes, and back to slots."""

from datetime import time

from app.domain.availability_grid import cells_from_slots, slots_from_cells
from app.domain.listings import Slot


def test_ticked_hours_next_to_each_other_become_one_slot():
    slots = slots_from_cells({(0, 9), (0, 10), (0, 11), (0, 14), (4, 6)})
    assert slots == [Slot(0, time(9), time(12)), Slot(0, time(14), time(15)),
                     Slot(4, time(6), time(7))]


def test_a_slot_shows_as_the_whole_hours_inside_it():
    cells = cells_from_slots([Slot(1, time(8, 30), time(12)), Slot(2, time(22), time(23, 59))])
    assert cells == {(1, 9), (1, 10), (1, 11), (2, 22)}


def test_times_outside_the_grid_are_kept_when_the_grid_is_saved():
    before = [Slot(5, time(0), time(8)), Slot(5, time(22), time(23, 59))]
    after = slots_from_cells({(5, 6), (5, 7), (5, 22)}, keep=before)
    assert after == [Slot(5, time(0), time(8)), Slot(5, time(22), time(23, 59))]
    assert slots_from_cells(set(), keep=before) == [Slot(5, time(0), time(6)),
                                                    Slot(5, time(23), time(23, 59))]


def test_nonsense_cells_are_ignored():
    assert slots_from_cells({(9, 10), (0, 3), (-1, 12)}) == []
