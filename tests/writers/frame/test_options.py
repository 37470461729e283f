"""The options base every writer's options derive from (table-driven, exact messages)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass
from typing import ClassVar

import pytest

from airflow_export.writers.frame import WriterOptions, check_positive_int


@dataclass(frozen=True)
class ToyOptions(WriterOptions):
    """A third format's options: one subclass, the shared checks for free."""

    writer: ClassVar[str] = "write_toy"

    colour: str = "red"
    width: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_choice("colour", ("red", "blue"))
        self.check_positive_int("width")


def test_defaults_and_frozen():
    opts = ToyOptions.from_kwargs()
    assert (opts.null_marker, opts.max_rows_per_file, opts.overwrite, opts.progress) == ("", None, True, None)
    assert (opts.colour, opts.width) == ("red", 3)
    with pytest.raises(FrozenInstanceError):
        opts.colour = "blue"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"colour": "green"}, ValueError, "colour must be one of ('red', 'blue'), got 'green'"),
        ({"width": 0}, ValueError, "width must be an int >= 1, got 0"),
        ({"width": True}, ValueError, "width must be an int >= 1, got True"),
        ({"null_marker": b"x"}, ValueError, "null_marker must be a string, got b'x'"),
        ({"overwrite": "yes"}, ValueError, "overwrite must be True or False, got 'yes'"),
        ({"max_rows_per_file": -1}, ValueError, "max_rows_per_file must be None or an int >= 1, got -1"),
        ({"progress": "print"}, TypeError, "progress must be a callable progress(records_so_far) or None, got 'print'"),
        ({"colur": "red"}, TypeError,
         "write_toy() got an unknown option 'colur' (did you mean 'colour'?); valid options: "
         "colour, max_rows_per_file, null_marker, overwrite, progress, width"),
        ({"zzz": 1}, TypeError, "write_toy() got an unknown option 'zzz'; valid options: "
         "colour, max_rows_per_file, null_marker, overwrite, progress, width"),
    ],
)
def test_bad_options(options, error, message):
    with pytest.raises(error) as info:
        ToyOptions.from_kwargs(**options)
    assert type(info.value) is error and str(info.value) == message


@pytest.mark.parametrize(("value", "ok"), [(1, True), (500, True), (0, False), (-3, False), (2.0, False),
                                            (False, False), ("10", False), (None, False)])
def test_check_positive_int(value, ok):
    if ok:
        assert check_positive_int("chunk_size", value) == value
    else:
        with pytest.raises(ValueError, match=rf"^chunk_size must be an int >= 1, got {value!r}$"):
            check_positive_int("chunk_size", value)
