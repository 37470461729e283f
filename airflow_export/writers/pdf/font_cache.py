"""The on-disk cache of parsed TrueType faces: later processes load the font in ~0.03 s.

Keyed by the font file's path, size, mtime and inode and the ReportLab/Python versions; a cache
that cannot be written or read is ignored (the font is parsed). Why: docs/adr/0007-font-cache.md.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
import threading

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

logger = logging.getLogger("airflow_export")

#: Environment variable: the folder of the parsed-font cache; ``off`` (or empty) disables it.
FONT_CACHE_ENV_VAR = "AIRFLOW_EXPORT_FONT_CACHE"
#: Bumped whenever the cache file's layout changes.
_FACE_CACHE_FORMAT = 1
#: The face attributes stored as arrays (the big tables), the rest is pickled as is
#: (``hmetrics`` too: its advances are ints or floats).
_FACE_ARRAYS = ("charToGlyph", "charWidths", "glyphToChar", "glyphPos")


def font_cache_dir() -> str | None:
    """The folder of the parsed-font cache, or None when disabled.

    ``$AIRFLOW_EXPORT_FONT_CACHE`` if set (``off`` or empty: no cache), else
    ``$XDG_CACHE_HOME/airflow-export/fonts`` (``~/.cache/airflow-export/fonts``).
    """
    configured = os.environ.get(FONT_CACHE_ENV_VAR)
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "false", "no") else configured
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "airflow-export", "fonts")


def face_cache_file(path: str, index: int) -> str | None:
    """The cache file of the font at ``path`` (``index`` in a collection), or None (no cache).

    Named by a SHA-256 of everything the parse depends on: the file's path, size, mtime and
    inode, the index, the ReportLab and Python versions and the cache format.
    """
    folder = font_cache_dir()
    if folder is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    import hashlib

    import reportlab

    key = repr((_FACE_CACHE_FORMAT, path, index, st.st_size, st.st_mtime_ns, st.st_ino, reportlab.Version,
                sys.version_info[:2]))
    return os.path.join(folder, hashlib.sha256(key.encode()).hexdigest()[:32] + ".face")


class _FaceUnpickler:
    """Reads a cache file with :mod:`pickle`, allowing no class but ReportLab's name bytes
    (so a tampered cache file cannot make the load run code)."""

    @staticmethod
    def load(fh):  # noqa: ANN001, ANN205
        import pickle

        from reportlab.pdfbase.ttfonts import TTFNameBytes

        class Restricted(pickle.Unpickler):
            def find_class(self, module, name):  # noqa: ANN001, ANN202
                if (module, name) == ("reportlab.pdfbase.ttfonts", "TTFNameBytes"):
                    return TTFNameBytes
                raise pickle.UnpicklingError(f"font cache: class {module}.{name} not allowed")

        return Restricted(fh).load()


def write_face_cache(font: TTFont, cache_file: str) -> None:
    """Store the parsed face of ``font`` at ``cache_file`` (temp file + rename; errors are
    logged at debug level and otherwise ignored: the cache is only a speed-up)."""
    import pickle
    from array import array

    face = vars(font.face)
    try:
        state = {k: v for k, v in face.items() if k not in ("_ttf_data", "_pdfScale", *_FACE_ARRAYS)}
        c2g, widths, g2c = face["charToGlyph"], face["charWidths"], face["glyphToChar"]
        arrays = {
            "c2g_keys": array("q", c2g), "c2g_values": array("q", c2g.values()),
            "w_keys": array("q", widths), "w_values": array("d", widths.values()),
            "g2c_keys": array("q", g2c), "g2c_counts": array("q", map(len, g2c.values())),
            "g2c_chars": array("q", itertools.chain.from_iterable(g2c.values())),
            "glyph_pos": array("q", face["glyphPos"]),
        }
        blob = {"state": state, "arrays": {k: (v.typecode, v.tobytes()) for k, v in arrays.items()}}
        os.makedirs(os.path.dirname(cache_file), mode=0o700, exist_ok=True)
        temp = f"{cache_file}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(temp, "wb") as fh:
            pickle.dump(blob, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, cache_file)
    except Exception as exc:  # noqa: BLE001 - a cache that cannot be written is skipped
        logger.debug("font cache not written (%s): %s", cache_file, exc)
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(temp)


def font_from_cache(name: str, path: str, cache_file: str) -> TTFont | None:
    """A :class:`TTFont` named ``name`` for ``path`` built from ``cache_file``, or None (no
    usable file: then the font is parsed).

    What ``TTFont.__init__`` would build (checked attribute by attribute against a parsed font
    in ``tests/writers/pdf/test_write_pdf.py``): the face's attributes from the file (the big
    tables from arrays: ~0.02 s instead of ~0.16 s of parsing), the font file's bytes read
    again (needed for subsetting), the 1/1000-em scale function rebuilt as ReportLab's
    ``extractInfo`` builds it, and the TTFont's own five attributes set as its ``__init__``
    sets them. The cache is keyed by the ReportLab version (:func:`face_cache_file`).
    """
    from array import array
    from fnmatch import fnmatch
    from weakref import WeakKeyDictionary

    from reportlab import rl_config
    from reportlab.pdfbase.ttfonts import TTEncoding, TTFontFace, unShapedFontGlob

    try:
        with open(cache_file, "rb") as fh:
            blob = _FaceUnpickler.load(fh)
        arrays = {}
        for key, (typecode, raw) in blob["arrays"].items():
            values = array(typecode)
            values.frombytes(raw)
            arrays[key] = values.tolist()
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - a broken cache file: parse the font instead
        logger.debug("font cache not used (%s): %s", cache_file, exc)
        return None
    face = TTFontFace.__new__(TTFontFace)
    pdfmetrics.TypeFace.__init__(face, None)
    vars(face).update(blob["state"])
    face._ttf_data = data
    # Each glyph's list of characters: slices of the flat list (C-level maps, no Python loop).
    ends = list(itertools.accumulate(arrays["g2c_counts"]))
    starts = [0, *ends[:-1]]
    chars = map(arrays["g2c_chars"].__getitem__, map(slice, starts, ends))
    glyph_to_char = dict(zip(arrays["g2c_keys"], chars, strict=False))
    vars(face).update(
        charToGlyph=dict(zip(arrays["c2g_keys"], arrays["c2g_values"], strict=False)),
        charWidths=dict(zip(arrays["w_keys"], arrays["w_values"], strict=False)),
        glyphToChar=glyph_to_char,
        glyphPos=arrays["glyph_pos"],
    )
    units = face.unitsPerEm
    if units == 1000:
        face._pdfScale = lambda x: x
    else:
        mult = 1000 / units
        face._pdfScale = lambda x: x * mult
    font = TTFont.__new__(TTFont)
    font.fontName = name
    font.face = face
    font.encoding = TTEncoding()
    font.state = WeakKeyDictionary()
    font._asciiReadable = rl_config.ttfAsciiReadable
    font.shapable = not any(fnmatch(name, glob) for glob in unShapedFontGlob)
    return font
