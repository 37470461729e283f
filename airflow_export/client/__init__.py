"""A client of the plugin's request API and the ``airflow-export`` command (stdlib only)."""
