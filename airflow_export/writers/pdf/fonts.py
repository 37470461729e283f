"""The Unicode TrueType fonts of the PDF writer: finding, loading, measuring; the fallback font.

:func:`find_font_path` searches :data:`DEFAULT_FONT_PATHS` (after :data:`FONT_ENV_VAR`) unless a
``font_path`` is given; :func:`load_font` parses a font once per process, keeping no raw font bytes
(:func:`~airflow_export.writers.pdf.document_fonts.parse_font`); :class:`FontSet` draws the characters the main font
lacks with a fallback font and records the characters no font has; :class:`FontMetrics` measures
text. The search list, the fallback and their limits: docs/formats.md ("Fonts"); why:
docs/adr/0009-pdf-fonts-and-fallback.md.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace
from typing import Any

from reportlab.lib.rl_accel import instanceStringWidthTTF
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from airflow_export.writers.pdf.document_fonts import parse_font

#: Environment variable naming a font file to use instead of the default search list.
FONT_ENV_VAR = "AIRFLOW_EXPORT_PDF_FONT"

#: Where to look for a Unicode TrueType font with CJK glyphs, in order.
DEFAULT_FONT_PATHS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)

#: The package to install when no font is found (Debian/Ubuntu name).
FONT_PACKAGE = "fonts-wqy-zenhei"

#: Where to look for the fallback font (DejaVu Sans: Latin, Greek, Cyrillic, Hebrew, Arabic,
#: combining marks, presentation forms, many symbols and some emoji), first existing file wins.
DEFAULT_FALLBACK_FONT_PATHS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",  # Debian/Ubuntu fonts-dejavu-core
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",  # Fedora/RHEL dejavu-sans-fonts
    "/usr/share/fonts/TTF/DejaVuSans.ttf",  # Arch ttf-dejavu
)

#: The package providing the fallback font (Debian/Ubuntu name).
FALLBACK_FONT_PACKAGE = "fonts-dejavu-core"

#: How many distinct missing characters :meth:`FontSet.missing_summary` names.
MISSING_LISTED = 20
#: How many distinct missing characters a :class:`FontSet` remembers (bounds its memory).
MISSING_TRACKED = 1000

logger = logging.getLogger("airflow_export")

_ASCII_PRINTABLE = range(32, 127)
_LOCK = threading.Lock()
_CACHE: dict[tuple[str, int], TTFont] = {}
_CHARSETS: dict[str, frozenset[str]] = {}


def _charset(font: TTFont) -> frozenset[str]:
    """The characters ``font`` has a glyph for (built once per font and process, ~5 ms for 40,000;
    ~5.6 MB for WenQuanYi Zen Hei, so built only when the first non-ASCII text is checked)."""
    chars = _CHARSETS.get(font.fontName)
    if chars is None:
        chars = _CHARSETS[font.fontName] = frozenset(map(chr, font.face.charToGlyph))
    return chars


class FontNotFoundError(FileNotFoundError):
    """No usable Unicode TrueType font: the message names the paths tried and the package to install."""


def find_font_path(font_path: str | os.PathLike | None = None) -> str:
    """The font file to use.

    :param font_path: an explicit font file (``.ttf`` or ``.ttc``); ``None`` searches
        ``$AIRFLOW_EXPORT_PDF_FONT`` and then :data:`DEFAULT_FONT_PATHS`.
    :returns: absolute path of an existing file.
    :raises FontNotFoundError: ``font_path`` does not exist, or nothing in the search list
        exists (the message says ``apt-get install fonts-wqy-zenhei``).
    """
    if font_path is not None:
        path = os.path.abspath(os.fspath(font_path))
        if not os.path.isfile(path):
            raise FontNotFoundError(f"font_path {path} does not exist or is not a file")
        return path
    candidates = []
    env = os.environ.get(FONT_ENV_VAR)
    if env:
        candidates.append(env)
    candidates.extend(DEFAULT_FONT_PATHS)
    for candidate in candidates:
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    raise FontNotFoundError(
        "no Unicode TrueType font with CJK glyphs found for the PDF writer (tried "
        + ", ".join(candidates)
        + f"); install the Debian/Ubuntu package {FONT_PACKAGE} (apt-get install -y {FONT_PACKAGE}),"
        f" set ${FONT_ENV_VAR}, or pass font_path= a TrueType-outline .ttf/.ttc file"
    )


def find_fallback_font_path(fallback_font_path: str | os.PathLike | None = None) -> str | None:
    """The fallback font file to use, if any.

    :param fallback_font_path: an explicit font file (``.ttf``); ``None`` searches
        :data:`DEFAULT_FALLBACK_FONT_PATHS`.
    :returns: absolute path of an existing file, or ``None`` when the search finds nothing
        (no error: the fallback is optional).
    :raises FontNotFoundError: an explicit ``fallback_font_path`` does not exist.
    """
    if fallback_font_path is not None:
        path = os.path.abspath(os.fspath(fallback_font_path))
        if not os.path.isfile(path):
            raise FontNotFoundError(f"fallback_font_path {path} does not exist or is not a file")
        return path
    for candidate in DEFAULT_FALLBACK_FONT_PATHS:
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    return None


def load_font(path: str, index: int = 0) -> TTFont:
    """Load (once per process, then cached) the TrueType font at ``path``.

    Parsed from a memory map of the file, without keeping its bytes: subsetting at the end of
    each PDF maps the file again (docs/adr/0041-pdf-fonts-without-raw-bytes-or-disk-cache.md).

    :param path: a ``.ttf`` file or a ``.ttc`` collection.
    :param index: the font's index inside a ``.ttc`` collection (0 for a ``.ttf``).
    :returns: a ReportLab :class:`TTFont` (not registered globally; subset state is kept per
        PDF document, so one object serves any number of documents).
    :raises ValueError: the file is not a TrueType font ReportLab can embed (e.g. CFF outlines),
        naming ``font_path``.
    """
    key = (path, index)
    with _LOCK:
        font = _CACHE.get(key)
        if font is None:
            name = f"AirflowExport-{len(_CACHE) + 1}"
            try:
                font = parse_font(name, path, index)
            except (TTFError, OSError, ValueError) as exc:
                raise ValueError(
                    f"font_path {path} (index {index}) cannot be embedded: {exc}. The PDF writer needs a font "
                    f"with TrueType outlines, e.g. {DEFAULT_FONT_PATHS[0]} from {FONT_PACKAGE}"
                ) from exc
            _CACHE[key] = font
    return font


class FontSet:
    """The fonts of one export: the main font, an optional fallback font, and a bounded record
    of the characters neither has (see docs/formats.md, "Fonts", for what the fallback can and
    cannot do).

    The fallback font is loaded by :meth:`check` when the first character the main font lacks
    is met (or at once by :meth:`load_fallback`). From then on every :class:`FontMetrics` made
    with this set measures those characters with the fallback font's advance widths (one merged
    width table, still measured by rl_accel's C ``instanceStringWidthTTF``), and :meth:`runs`
    tells the writer where to switch fonts. Not thread-safe: one set per export.

    :param font: the main font.
    :param fallback_path: the fallback font file (``.ttf``), or ``None`` for no fallback.
    :param fallback_required: True if the fallback was asked for explicitly: a file that cannot
        be loaded raises; False (found by the default search): it is logged and skipped.
    """

    def __init__(self, font: TTFont, fallback_path: str | None, fallback_required: bool = False) -> None:
        self.font = font
        self.fallback_path = fallback_path
        self.fallback_required = fallback_required
        self.fallback: TTFont | None = None
        #: the characters drawn with the fallback font: it has a glyph for them, the main font has not.
        self.fallback_chars: frozenset[str] = frozenset()
        #: what widths are measured with: an object with ``face.charWidths`` (1/1000 em by code
        #: point) and ``face.defaultWidth``, as rl_accel's ``instanceStringWidthTTF`` reads them.
        self.width_font: Any = font  # the font, or a stand-in with the merged width table
        #: characters in neither font (the first :data:`MISSING_TRACKED`, in order of appearance).
        self.missing: dict[str, None] = {}
        #: where they occurred (as given to :meth:`check`), in order of appearance.
        self.missing_places: dict[str, None] = {}
        self._chars: frozenset[str] | None = None  # _charset(font), built on the first non-ASCII text
        glyphs = font.face.charToGlyph
        #: True if the main font has every printable ASCII character (then ASCII text needs no check).
        self._ascii_ok = all(c in glyphs for c in _ASCII_PRINTABLE)
        self._tried = fallback_path is None
        self._metrics: list[FontMetrics] = []

    def load_fallback(self) -> bool:
        """Load the fallback font (once) and merge its widths in.

        :returns: True if a fallback font is in use.
        :raises ValueError: the file is not an embeddable TrueType font and ``fallback_required``,
            naming ``fallback_font_path``.
        """
        if self._tried:
            return self.fallback is not None
        self._tried = True
        assert self.fallback_path is not None  # else _tried was True from the start
        try:
            fallback = load_font(self.fallback_path)
        except ValueError as exc:
            if self.fallback_required:
                raise ValueError(f"fallback_font_path: {exc}") from exc
            logger.warning("PDF fallback font not used: %s", exc)
            return False
        own = self.font.face.charToGlyph
        fallback_glyphs = fallback.face.charToGlyph
        extra = {
            code: width
            for code, width in fallback.face.charWidths.items()
            if code not in own and code in fallback_glyphs
        }
        widths = dict(self.font.face.charWidths)
        widths.update(extra)
        self.fallback = fallback
        self.fallback_chars = frozenset(map(chr, extra))
        face = SimpleNamespace(charWidths=widths, defaultWidth=self.font.face.defaultWidth)
        self.width_font = SimpleNamespace(face=face)
        for metrics in self._metrics:
            metrics._bind()
        return True

    def check(self, text: str, place: str) -> None:
        """Note the characters of ``text`` the main font has no glyph for: load the fallback
        font on the first one, record those the fallback lacks too (with ``place``).

        U+00A0 NO-BREAK SPACE is never recorded (a missing one prints as blank anyway).

        :param text: cleaned cell, header or title text.
        :param place: where it is drawn, e.g. ``"column 'name'"``, ``"header"`` or ``"title"``.
        """
        if self._ascii_ok and text.isascii() and text.isprintable():  # the usual case, C-level passes
            return
        chars = self._chars
        if chars is None:
            chars = self._chars = _charset(self.font)
        if chars.issuperset(text):  # one C-level pass
            return
        lacking = [c for c in dict.fromkeys(text) if c not in chars and c != "\xa0"]
        if not lacking:
            return
        if not self._tried:
            self.load_fallback()
        covered = self.fallback_chars
        missing = self.missing
        for c in lacking:
            if c not in covered:
                if len(missing) < MISSING_TRACKED:
                    missing[c] = None
                self.missing_places[place] = None

    def runs(self, text: str) -> list[tuple[bool, str]] | None:
        """``text`` cut where it changes font: ``[(uses_fallback, chunk), ...]`` in order, or
        ``None`` if it needs no fallback glyph (draw it with the main font alone).

        With DejaVu Sans as fallback: ``runs("ab שלום")`` -> ``[(False, "ab "), (True, "שלום")]``.
        """
        covered = self.fallback_chars
        if not covered or covered.isdisjoint(text):
            return None
        return [(uses, "".join(chunk)) for uses, chunk in itertools.groupby(text, covered.__contains__)]

    def missing_summary(self, listed: int = MISSING_LISTED) -> str | None:
        """What :attr:`missing` holds, for one log line, or ``None`` if nothing is missing.

        Each character is named by code point and Unicode name (which, for letters, starts with
        the script: ``U+0928 DEVANAGARI LETTER NA``), at most ``listed`` of them, e.g.
        ``2 distinct characters: U+0E01 THAI CHARACTER KO KAI, U+1F980 CRAB; in column 'x', title``.
        """
        if not self.missing:
            return None
        count = len(self.missing)
        total = f"{count}+" if count >= MISSING_TRACKED else str(count)
        names = [f"U+{ord(c):04X} {unicodedata.name(c, '<unnamed>')}" for c in itertools.islice(self.missing, listed)]
        more = f" and {count - listed}{'+' if count >= MISSING_TRACKED else ''} more" if count > listed else ""
        places = ", ".join(self.missing_places)
        return f"{total} distinct character{'s' if count != 1 else ''}: {', '.join(names)}{more}; in {places}"


@dataclass
class FontMetrics:
    """Text widths of one font at one size, in points.

    Widths are the sum of the glyph advance widths (no kerning), exactly what ReportLab's
    ``stringWidth`` (the C ``instanceStringWidthTTF`` of rl_accel) returns and what the PDF viewer
    uses to place the glyphs.

    With a :class:`FontSet` whose fallback font is loaded, the characters drawn with the
    fallback font are measured with its widths.

    :param font: the loaded font.
    :param size: font size in points.
    :param fonts: the export's font set, if it may use a fallback font (``font`` is its main font).
    """

    font: TTFont
    size: float
    fonts: FontSet | None = field(default=None, repr=False, compare=False)
    #: widest printable ASCII glyph, in points (for the "surely fits" shortcut).
    max_ascii_width: float = field(init=False)
    #: True if every printable ASCII character has a glyph (then ASCII text needs no glyph check).
    has_all_ascii: bool = field(init=False)

    def __post_init__(self) -> None:
        face = self.font.face
        widths = face.charWidths
        self.has_all_ascii = all(c in face.charToGlyph for c in _ASCII_PRINTABLE)
        default = face.defaultWidth
        self.max_ascii_width = max(widths.get(c, default) for c in _ASCII_PRINTABLE) * self.size / 1000.0
        self._default = default
        self._glyphs = face.charToGlyph
        if self.fonts is not None:
            self.fonts._metrics.append(self)
        self._bind()

    def _bind(self) -> None:
        """(Re)bind the width functions to the font set's current width table."""
        width_font = self.font if self.fonts is None else self.fonts.width_font
        self._width = partial(instanceStringWidthTTF, width_font)
        self._char_width = width_font.face.charWidths.get

    def width(self, text: str) -> float:
        """Width of ``text`` in points at :attr:`size`."""
        return self._width(text, self.size)

    def char_widths(self, text: str) -> list[float]:
        """Width of each character of ``text`` in points."""
        get = self._char_width
        default = self._default
        scale = self.size / 1000.0
        return [get(ord(c), default) * scale for c in text]

    def missing_glyphs(self, text: str) -> str:
        """The distinct characters of ``text`` the font has no glyph for (in order of appearance)."""
        glyphs = self._glyphs
        seen = []
        for c in text:
            if ord(c) not in glyphs and c != "\xa0" and c not in seen:
                seen.append(c)
        return "".join(seen)
