"""Run :func:`airflow_export.validation.cli.main` as ``python -m airflow_export.validation``."""

import sys

from airflow_export.validation.cli import main

sys.exit(main())
