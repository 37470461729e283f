import sys

from airflow_export.client.cli import main

sys.exit(main())
