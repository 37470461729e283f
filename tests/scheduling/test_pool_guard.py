"""The pool guard's decision (which tasks can never be scheduled) and its wiring into the plugin."""

from __future__ import annotations

import pytest

from airflow_export.plugin.pool_guard import PoolProblem, TaskPoolUse, find_pool_problems, pool_guard_listener

POOLS = {"export_pool": 5, "default_pool": 128, "paused": 0, "unlimited": -1}


def use(
    task_id="export", pool="export_pool", slots=1, task_type="ExportCsvOperator",
    module="airflow_export.operators.export",
):
    return TaskPoolUse(task_id, pool, slots, task_type, module)


def ids(problems: list[PoolProblem]) -> list[tuple[str, int | None]]:
    return [(p.task.task_id, p.pool_size) for p in problems]


def test_missing_pool_and_too_many_slots_are_found():
    tasks = [use("ok"), use("five", slots=5), use("six", slots=6), use("missing", pool="nope"),
             use("big_default", pool="default_pool", slots=128)]
    assert ids(find_pool_problems(tasks, POOLS)) == [("six", 5), ("missing", None)]


def test_paused_and_unlimited_pools_are_left_alone():
    tasks = [use("paused", pool="paused"), use("paused_big", pool="paused", slots=3),
             use("unlimited", pool="unlimited", slots=10_000)]
    assert find_pool_problems(tasks, POOLS) == []


def test_scope_exports_all_off():
    other = TaskPoolUse("bash", "nope", 1, "BashOperator", "airflow.providers.standard.operators.bash")
    subclass = TaskPoolUse("mine", "nope", 1, "MyExport", "airflow_export.custom")
    in_export_pool = TaskPoolUse("mine2", "export_pool", 9, "PythonOperator", "airflow.providers.standard")
    tasks = [other, subclass, in_export_pool, use("pdf", pool="nope", task_type="ExportPdfOperator")]
    assert ids(find_pool_problems(tasks, POOLS)) == [("mine", None), ("mine2", 5), ("pdf", None)]
    assert ids(find_pool_problems(tasks, POOLS, "all")) == [("bash", None), ("mine", None), ("mine2", 5), ("pdf", None)]
    assert find_pool_problems(tasks, POOLS, "off") == []
    with pytest.raises(ValueError, match=r"pool_guard must be one of .*'everything'"):
        find_pool_problems(tasks, POOLS, "everything")


def test_subclasses_in_dag_files_are_recognised_by_their_template_fields():
    from airflow_export import ExportCsvOperator, ExportPdfOperator

    class MyExport(ExportPdfOperator):
        template_fields = (*ExportPdfOperator.template_fields, "extra")

    for cls in (ExportCsvOperator, MyExport):
        sub = TaskPoolUse("mine", "nope", 1, "MyExport", "unusual_prefix_dagfile", tuple(cls.template_fields))
        assert ids(find_pool_problems([sub], POOLS)) == [("mine", None)]
        assert sub.export_format == ("pdf" if cls is MyExport else "csv")
    narrowed = TaskPoolUse("narrow", "nope", 1, "MyCsvFields", "dagfile", ("output_path",))
    assert ids(find_pool_problems([narrowed], POOLS)) == [("narrow", None)]
    lookalike = TaskPoolUse(
        "sql", "nope", 1, "SQLExecuteQueryOperator", "airflow.providers.common.sql", ("sql", "parameters")
    )
    assert find_pool_problems([lookalike], POOLS) == []


def test_messages_name_the_pool_the_sizes_and_the_fix():
    missing, too_big = find_pool_problems([use("a", pool="nope"), use("b", slots=7)], POOLS)
    assert missing.message.startswith("airflow-export pool guard: task 'a' uses pool 'nope', which does not exist")
    assert "airflow pools set nope 5" in missing.message and "apache/airflow#20178" in missing.message
    assert "task 'b' needs pool_slots=7 but pool 'export_pool' has only 5 slots" in too_big.message
    assert "Lower pool_slots to at most 5" in too_big.message
    assert len(missing.message) < 1000 and len(too_big.message) < 1000  # Airflow's note column
    assert (missing.task.export_format, use(task_type="ExportPdfOperator").export_format) == ("csv", "pdf")


def test_plugin_registers_the_listener():
    from airflow_export.plugin import AirflowExportPlugin

    assert pool_guard_listener in AirflowExportPlugin.listeners
    assert callable(pool_guard_listener.on_dag_run_running)
