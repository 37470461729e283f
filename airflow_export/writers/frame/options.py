"""The options base every writer's options derive from: one frozen dataclass per format.

Contract, the same for every writer (see docs/formats.md, "Options"):

* an unknown option is a :class:`TypeError` naming it, with the closest valid name
  (``did you mean 'delimiter'?``) and the list of valid options;
* a bad option value is a :class:`ValueError` naming the option and the value;
* ``progress`` that is not callable is a :class:`TypeError`;
* the options shared by every writer (``null_marker``, ``max_rows_per_file``, ``overwrite``,
  ``progress``) are declared and checked here, once.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar

_Options = TypeVar("_Options", bound="WriterOptions")


@dataclass(frozen=True)
class WriterOptions:
    """Options shared by every writer; a format subclasses this with its own fields.

    :param null_marker: text written for a null (``None``, ``pandas.NA``, ``pandas.NaT``, NaT).
    :param max_rows_per_file: roll over to a new file after this many rows (>= 1), or None.
    :param overwrite: replace existing files; if False and the target (or a part of it)
        exists, the export fails before any row is read.
    :param progress: ``progress(records_so_far: int)``, called as rows are written, or None.
    :raises ValueError: a bad value, naming the option.
    :raises TypeError: ``progress`` is not callable.
    """

    #: The writer's name in error messages, e.g. ``"write_csv"``.
    writer: ClassVar[str] = "writer"

    null_marker: str = ""
    max_rows_per_file: int | None = None
    overwrite: bool = True
    progress: Callable[[int], Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.null_marker, str):
            raise ValueError(f"null_marker must be a string, got {self.null_marker!r}")
        self.check_positive_int("max_rows_per_file", allow_none=True)
        self.check_bool("overwrite")
        if self.progress is not None and not callable(self.progress):
            raise TypeError(f"progress must be a callable progress(records_so_far) or None, got {self.progress!r}")

    @classmethod
    def from_kwargs(cls: type[_Options], **options: Any) -> _Options:
        """Build from keyword options, rejecting unknown names.

        :raises TypeError: an unknown option, naming it (with the closest valid name, if
            any) and listing the valid ones.
        :raises ValueError: a bad value (see the class).
        """
        valid = cls.option_names()
        for name in options:
            if name not in valid:
                close = difflib.get_close_matches(name, valid, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise TypeError(
                    f"{cls.writer}() got an unknown option {name!r}{hint}; valid options: {', '.join(valid)}"
                )
        return cls(**options)

    @classmethod
    def option_names(cls) -> list[str]:
        """The valid option names, sorted."""
        return sorted(f.name for f in fields(cls))

    # -- checks for subclasses: each raises ValueError naming the option -------------------

    def check_bool(self, *names: str) -> None:
        """Each option in ``names`` is True or False."""
        for name in names:
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be True or False, got {value!r}")

    def check_positive_int(self, name: str, *, allow_none: bool = False, minimum: int = 1) -> None:
        """Option ``name`` is an int >= ``minimum`` (not a bool), or None if ``allow_none``."""
        value = getattr(self, name)
        if value is None and allow_none:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be {'None or ' if allow_none else ''}an int >= {minimum}, got {value!r}")

    def check_choice(self, name: str, choices: Iterable[Any]) -> None:
        """Option ``name`` is one of ``choices``."""
        choices = tuple(choices)
        if getattr(self, name) not in choices:
            raise ValueError(f"{name} must be one of {choices!r}, got {getattr(self, name)!r}")


def check_positive_int(name: str, value: Any) -> int:
    """A writer parameter that is not an option (``chunk_size``, ``rows_per_page``): an int >= 1.

    :raises ValueError: naming the parameter and the value.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value
