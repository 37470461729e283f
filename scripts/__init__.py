"""Developer tooling, not shipped with the package: the local Airflow launcher (``python -m scripts.launcher``)."""
