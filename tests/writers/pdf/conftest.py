"""Fixtures of the PDF writer tests."""

from __future__ import annotations

import pytest

from airflow_export.writers.pdf.fonts import find_font_path, load_font


@pytest.fixture(scope="module")
def font():
    """The default main font, loaded."""
    return load_font(find_font_path())
