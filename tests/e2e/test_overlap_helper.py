import pytest

from tests.support.overlap import max_overlap, waited_for_slot

T = "2026-01-01T00:00:{:02d}Z"


@pytest.mark.parametrize(
    "intervals, peak, waited",
    [
        ([(T.format(0), T.format(5))], 1, 0),
        ([(T.format(0), T.format(5)), (T.format(5), T.format(9))], 1, 1),  # touching: no overlap
        ([(T.format(0), T.format(5)), (T.format(4), T.format(9))], 2, 0),
        ([(T.format(0), T.format(9))] * 6, 6, 0),
        ([(T.format(0), T.format(3))] * 5 + [(T.format(3), T.format(6))] * 3, 5, 3),
    ],
)
def test_max_overlap_and_waits(intervals, peak, waited):
    assert max_overlap(intervals) == peak
    assert waited_for_slot(intervals) == waited
