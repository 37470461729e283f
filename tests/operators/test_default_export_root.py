"""Containment with no configured export root: the default ``$AIRFLOW_HOME/exports`` is in force.

Every test here removes ``AIRFLOW_EXPORT_ROOT`` and ``[export] root`` and points ``AIRFLOW_HOME``
at a fresh folder, so nothing configured contains the targets. Without the default root these
writes succeed wherever the path points.
"""

from __future__ import annotations

import os

import pytest

from airflow_export import ExportCsvOperator, ExportPdfOperator
from airflow_export.destinations import ExportPathError, export_root, resolve_output_path


@pytest.fixture()
def no_root(tmp_path, monkeypatch):
    """AIRFLOW_HOME=tmp_path/home, no export root configured; the task's cwd is tmp_path/cwd."""
    home = tmp_path / "home"
    home.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.delenv("AIRFLOW_EXPORT_ROOT", raising=False)
    monkeypatch.delenv("AIRFLOW__EXPORT__ROOT", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.chdir(cwd)
    return home


def _files(top):
    return sorted(os.path.relpath(os.path.join(d, f), top) for d, _, fs in os.walk(top) for f in fs)


def test_the_default_root_is_airflow_home_exports(no_root):
    root = export_root()
    assert root == (str(no_root / "exports"), "default") and root.is_default
    assert export_root("/srv/x") == ("/srv/x", "argument")


@pytest.mark.parametrize("operator, name", [(ExportCsvOperator, "x.csv"), (ExportPdfOperator, "x.pdf")])
def test_relative_path_lands_under_the_default_root_and_the_log_says_so(no_root, tmp_path, operator, name, capsys):
    op = operator(task_id="t", rows=[[1]], columns=["a"], output_path=f"daily/{name}")
    meta = op.execute({})
    assert meta["path"] == str(no_root / "exports" / "daily" / name)
    assert _files(tmp_path / "cwd") == []  # not the task process's working directory
    log = capsys.readouterr().out
    said = (f"No export root is configured (AIRFLOW_EXPORT_ROOT or [export] root): exports are confined to "
            f"the default {no_root / 'exports'}")
    assert log.count(said) == 1, log


@pytest.mark.parametrize(
    "output_path",
    ["../../x.csv", "../x.csv", "a/../../x.csv", "ABS/outside.csv", "/tmp/airflow-export-escape-test.csv"],
)
def test_nothing_escapes_the_default_root(no_root, tmp_path, output_path):
    output_path = output_path.replace("ABS", str(tmp_path))
    before = _files(tmp_path)
    op = ExportCsvOperator(task_id="t", rows=[[1]], columns=["a"], output_path=output_path)
    with pytest.raises(ExportPathError, match=r"outside the export root .*no export root is configured, so the "
                                               r"default \$AIRFLOW_HOME/exports applies"):
        op.execute({})
    assert _files(tmp_path) == before
    assert not os.path.exists("/tmp/airflow-export-escape-test.csv")


def test_an_absolute_path_is_accepted_when_the_configured_root_contains_it(no_root, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__EXPORT__ROOT", str(tmp_path / "data"))
    meta = ExportCsvOperator(
        task_id="t", rows=[[1]], columns=["a"], output_path=str(tmp_path / "data" / "x.csv")
    ).execute({})
    assert meta["path"] == str(tmp_path / "data" / "x.csv")
    with pytest.raises(ExportPathError, match=r"the export root comes from \[export\] root"):
        ExportCsvOperator(task_id="t", rows=[[1]], columns=["a"], output_path=str(tmp_path / "x.csv")).execute({})


def test_resolve_output_path_without_a_root_means_the_root_in_force(no_root):
    assert resolve_output_path("a.csv", None) == str(no_root / "exports" / "a.csv")
    with pytest.raises(ExportPathError):
        resolve_output_path("../a.csv", None)


def test_a_static_asset_is_declared_under_the_default_root(no_root):
    op = ExportCsvOperator(task_id="t", rows=[[1]], columns=["a"], output_path="out/x.csv")
    assert [o.uri for o in op.outlets] == [f"file://{no_root / 'exports' / 'out' / 'x.csv'}"]


@pytest.mark.parametrize("how", ["env", "argument"])
def test_a_relative_export_root_is_refused_not_resolved_against_the_working_directory(no_root, monkeypatch, how):
    kwargs = {}
    if how == "env":
        monkeypatch.setenv("AIRFLOW_EXPORT_ROOT", "relroot")
    else:
        kwargs["export_root"] = "relroot"
    with pytest.raises(ValueError, match=r"the export root 'relroot' \(from .*\) is a relative path"):
        ExportCsvOperator(task_id="t", rows=[[1]], columns=["a"], output_path="x.csv", **kwargs).execute({})
    assert not os.path.exists("relroot")


def test_a_table_mapping_with_other_keys_is_refused(no_root):
    """A typo such as ``cols`` would otherwise drop the column names silently (header ``col_1``)."""
    op = ExportCsvOperator(task_id="t", rows={"cols": ["a"], "rows": [[1]]}, output_path="m.csv")
    with pytest.raises(TypeError, match=r"a mapping must look like \{'columns': \[...\], 'rows': \[...\]\}; "
                                        r"got keys \['cols', 'rows'\]"):
        op.execute({})
