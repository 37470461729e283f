"""Numbers in Go's ``strconv`` syntax, as statsd_exporter reads them from StatsD lines."""

from __future__ import annotations

__all__ = ["parse_go_float", "is_go_int"]


def parse_go_float(text: str) -> float | None:
    """Parse a StatsD number like Go's ``strconv.ParseFloat(text, 64)``, finite values only.

    Accepts ``12``, ``-1.5``, ``+3``, ``.5``, ``1e3``, ``0x1p-2`` (Go hex float); rejects
    whitespace, ``_`` separators, non-ASCII digits, the empty string, and (unlike Go) ``NaN``,
    ``Inf`` and values overflowing to infinity.

    :param text: the value text.
    :returns: the float, or ``None`` if it is not a finite number in Go syntax.
    """
    try:
        value = float(text)
    except ValueError:
        lowered = text.lower()
        if "p" not in lowered or not lowered.lstrip("+-").startswith("0x") or "_" in text:
            return None
        try:
            value = float.fromhex(text)
        except (ValueError, OverflowError):
            return None
    # float() is more lenient than Go: it strips whitespace and accepts "1_0" and Unicode digits
    if not text.isascii() or "_" in text or text[0] <= " " or text[-1] <= " ":
        return None
    if value - value != 0.0:  # NaN or +-Inf
        return None
    return value


def is_go_int(text: str) -> bool:
    """Whether ``text`` is a base-10 int64 for Go's ``strconv.ParseInt`` (optional sign, digits)."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    return -(2**63) <= int(text) <= 2**63 - 1
