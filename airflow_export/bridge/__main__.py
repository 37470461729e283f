"""``python -m airflow_export.bridge``: same as the ``airflow-export-bridge`` command."""

from __future__ import annotations

import sys

from airflow_export.bridge.cli import main

if __name__ == "__main__":
    sys.exit(main())
