"""The Unicode TrueType font of the PDF writer: where it is found, loading, and measuring text.

The PDF writer embeds one TrueType font (subsetted: only the glyphs used) so that Latin,
Cyrillic, Greek and CJK text render as real glyphs and extract back as the same text. It
must be a font with TrueType (``glyf``) outlines: ReportLab's :class:`~reportlab.pdfbase.ttfonts.TTFont`
rejects CFF/PostScript-outline fonts (e.g. Noto CJK ``.otf``/``.ttc``), and DejaVu has no CJK.

Default search list (:data:`DEFAULT_FONT_PATHS`, first existing file wins):

====================================================  ==========================================
path                                                  package
====================================================  ==========================================
``/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc``      Debian/Ubuntu ``fonts-wqy-zenhei``
``/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc``        Fedora/RHEL ``wqy-zenhei-fonts``
``/usr/share/fonts/truetype/wqy/wqy-microhei.ttc``    Debian/Ubuntu ``fonts-wqy-microhei``
``/usr/share/fonts/truetype/arphic/uming.ttc``        Debian/Ubuntu ``fonts-arphic-uming``
====================================================  ==========================================

The environment variable :data:`FONT_ENV_VAR` (``AIRFLOW_EXPORT_PDF_FONT``), if set, is
tried before the list; an explicit ``font_path`` replaces the search altogether.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

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

_ASCII_PRINTABLE = range(32, 127)
_LOCK = threading.Lock()
_CACHE: dict[tuple[str, int], TTFont] = {}


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


def load_font(path: str, index: int = 0) -> TTFont:
    """Load (once per process, then cached) the TrueType font at ``path``.

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
            try:
                font = TTFont(f"AirflowExport-{len(_CACHE) + 1}", path, subfontIndex=index)
            except (TTFError, OSError, ValueError) as exc:
                raise ValueError(
                    f"font_path {path} (index {index}) cannot be embedded: {exc}. The PDF writer needs a font "
                    f"with TrueType outlines, e.g. {DEFAULT_FONT_PATHS[0]} from {FONT_PACKAGE}"
                ) from exc
            # Registered so a canvas can name it as its initial font (no unused Helvetica object).
            pdfmetrics.registerFont(font)
            _CACHE[key] = font
    return font


@dataclass
class FontMetrics:
    """Text widths of one font at one size, in points.

    Widths are the sum of the glyph advance widths (no kerning), exactly what ReportLab's
    ``stringWidth`` (the C ``instanceStringWidthTTF`` of rl_accel) returns and what the PDF viewer
    uses to place the glyphs.

    :param font: the loaded font.
    :param size: font size in points.
    """

    font: TTFont
    size: float
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
        self._width = self.font.stringWidth
        self._char_width = widths.get
        self._default = default
        self._glyphs = face.charToGlyph

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
