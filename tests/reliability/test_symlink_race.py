"""A directory swapped for a symlink pointing out of the export root while an export runs.

The operator checks ``output_path`` against the export root when the task starts; the query
then runs, maybe for minutes, before the writer opens the file. An attacker who can write in
the export root may replace ``root/victim`` with a symlink to somewhere outside in between.

* swapped before the writer starts: the writer's own check on the directory it opened fails
  (:class:`OutputOutsideRootError`), nothing is written anywhere;
* swapped after the writer started: the writer uses the directory through its descriptor,
  so the file is finished in the directory that was checked (now renamed), never outside.
"""

from __future__ import annotations

import contextlib
import os

import pytest

from airflow_export import ExportCsvOperator, ExportPdfOperator
from airflow_export.metrics import failure_reason
from airflow_export.writers.frame import OutputOutsideRootError


def swap_for_symlink(victim, outside) -> None:
    os.rename(victim, victim.with_name("victim.moved"))
    os.symlink(outside, victim)


@pytest.fixture()
def layout(tmp_path, monkeypatch):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "victim").mkdir(parents=True)
    outside.mkdir()
    monkeypatch.setenv("AIRFLOW_EXPORT_ROOT", str(root))
    return root, outside


@pytest.mark.parametrize("operator", [ExportCsvOperator, ExportPdfOperator])
def test_swap_while_the_query_runs_is_refused(layout, operator):
    root, outside = layout

    class SwapDuringQuery(operator):
        @contextlib.contextmanager
        def open_source(self):
            with super().open_source() as source:
                swap_for_symlink(root / "victim", outside)  # the slow query's moment
                yield source

    op = SwapDuringQuery(task_id="t", rows=[[i, "x"] for i in range(100)], columns=["i", "s"],
                         output_path=f"victim/out.{operator.export_format}")
    with pytest.raises(OutputOutsideRootError) as caught:
        op.execute({})
    assert f"now resolves to {outside}, outside the export root {root}" in str(caught.value)
    assert failure_reason(caught.value) == "invalid_input"
    assert list(outside.iterdir()) == [] and list((root / "victim.moved").iterdir()) == []


@pytest.mark.parametrize("operator", [ExportCsvOperator, ExportPdfOperator])
def test_swap_after_the_writer_started_cannot_redirect_the_file(layout, operator):
    root, outside = layout

    def rows():
        for i in range(3000):
            if i == 500:
                swap_for_symlink(root / "victim", outside)
            yield [i, "x"]

    meta = operator(task_id="t", rows=rows(), columns=["i", "s"],
                    output_path=f"victim/out.{operator.export_format}").execute({})
    assert meta["records"] == 3000
    assert list(outside.iterdir()) == []  # nothing escaped
    assert [p.name for p in (root / "victim.moved").iterdir()] == [f"out.{operator.export_format}"]


def test_missing_parents_are_not_created_through_a_swapped_symlink(layout):
    root, outside = layout

    class SwapDuringQuery(ExportCsvOperator):
        @contextlib.contextmanager
        def open_source(self):
            with super().open_source() as source:
                swap_for_symlink(root / "victim", outside)
                yield source

    with pytest.raises(OutputOutsideRootError):
        SwapDuringQuery(task_id="t", rows=[[1]], columns=["a"], output_path="victim/sub/deeper/x.csv").execute({})
    assert list(outside.iterdir()) == []  # no "sub/deeper" created outside


@pytest.mark.parametrize("writer, ext", [("csv", "csv"), ("pdf", "pdf")])
def test_rolling_parts_stay_in_the_directory_first_opened(tmp_path, writer, ext):
    """A rolling export (parts) keeps writing where it started, even across the roll-over."""
    from airflow_export import write_csv, write_pdf

    base, elsewhere = tmp_path / "sub", tmp_path / "elsewhere"
    base.mkdir()
    elsewhere.mkdir()

    def rows():
        for i in range(8):
            if i == 2:
                os.rename(base, tmp_path / "sub.moved")
                os.symlink(elsewhere, base)
            yield {"i": i}

    write = write_csv if writer == "csv" else write_pdf
    result = write(rows(), base / f"r.{ext}", max_rows_per_file=3)
    assert result.records == 8 and len(result.files) == 3
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "sub.moved").iterdir()) == [f"r.part-0000{i}.{ext}" for i in (1, 2, 3)]
