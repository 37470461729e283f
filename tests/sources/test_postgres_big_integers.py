"""Integers beyond 2**53 from PostgreSQL keep every digit in both formats (``bigint`` as ``int``,
``numeric`` as ``Decimal``), read back with csv.reader and pypdf."""

from __future__ import annotations

import pytest

from airflow_export import ExportCsvOperator, ExportPdfOperator
from tests.operators.test_no_silent_loss import BIG, csv_records, pdf_records
from tests.sources.conftest import CONN_ID

SQL = (
    "SELECT n::bigint AS b, n::numeric AS d, (n::numeric * 1000000000000 + 7)::numeric(60, 0) AS huge "
    "FROM unnest(ARRAY[{}]::numeric[]) WITH ORDINALITY AS t(n, i) WHERE n BETWEEN -9223372036854775808 "
    "AND 9223372036854775807 ORDER BY i"
).format(", ".join(map(str, BIG)))


@pytest.mark.parametrize(("operator", "suffix", "records"), [
    (ExportCsvOperator, ".csv", csv_records), (ExportPdfOperator, ".pdf", pdf_records),
], ids=["csv", "pdf"])
def test_postgres_big_integers_keep_every_digit(postgres, tmp_path, operator, suffix, records):
    out = tmp_path / f"pg{suffix}"
    operator(task_id="pg", conn_id=CONN_ID, sql=SQL, output_path=str(out)).execute({})
    fits = [n for n in BIG if -(2**63) <= n < 2**63]
    assert records(out) == [["b", "d", "huge"]] + [[str(n), str(n), str(n * 10**12 + 7)] for n in fits]
