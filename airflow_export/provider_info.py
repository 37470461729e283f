"""Provider metadata, found by Airflow through the ``apache_airflow_provider`` entry point.

Airflow's ``ProvidersManager`` calls :func:`get_provider_info` to list this package under
``airflow providers list`` and to know its operators, the way ``apache-airflow-providers-*``
packages declare themselves.
"""

from __future__ import annotations

from airflow_export import __version__


def get_provider_info() -> dict:
    """The provider info dict (``package-name``, ``name``, ``description``, ``versions``, ``operators``)."""
    return {
        "package-name": "airflow-export",
        "name": "airflow-export",
        "description": "Streaming CSV and PDF export operators with StatsD/Prometheus metrics.",
        "versions": [__version__],
        "operators": [
            {
                "integration-name": "airflow-export",
                "python-modules": ["airflow_export.operators.export"],
            }
        ],
        "integrations": [
            {
                "integration-name": "airflow-export",
                "external-doc-url": "https://pypi.org/project/airflow-export/",
                "tags": ["software"],
            }
        ],
        "plugins": [{"name": "airflow_export", "plugin-class": "airflow_export.plugin.AirflowExportPlugin"}],
    }
