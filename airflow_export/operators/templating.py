"""How the export operators' template fields render (the rules and their reasons: ADR 0022).

* Data fields (``rows``, ``columns``) given as literal values are wrapped with
  :func:`airflow.sdk.literal` when the operator is built, so Airflow resolves them to
  themselves: a cell ``"{{ ds }}"`` is exported as written.
* A ``rows`` string is a template rendered to a native Python object (a Jinja
  ``NativeEnvironment``), e.g. ``"{{ ti.xcom_pull(task_ids='query') }}"`` gives that list.
* Only ``sql`` may name a ``.sql`` template file; in every other field a string ending in
  ``.sql`` is rendered as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
import jinja2.nativetypes
from airflow.sdk import literal

#: The type :func:`airflow.sdk.literal` returns.
LiteralValue = type(literal(None))


def as_data(value: Any) -> Any:
    """``value`` for a data field: literal data wrapped with :func:`airflow.sdk.literal`.

    None, strings (templates) and values Airflow resolves itself (``XComArg`` such as
    ``upstream.output``, ``literal(...)``, a ``DagParam``) are returned as they are.
    """
    if value is None or isinstance(value, str) or callable(getattr(value, "resolve", None)):
        return value
    return literal(value)


def data_value(value: Any) -> Any:
    """The plain value of a data field: unwraps :func:`airflow.sdk.literal` (an operator executed unrendered)."""
    return value.value if isinstance(value, LiteralValue) else value


def native_environment(jinja_env: jinja2.Environment) -> jinja2.Environment:
    """``jinja_env`` itself when it renders native objects, else a ``NativeEnvironment`` with its
    loader, filters, tests and globals (Airflow's filters and the DAG's macros)."""
    if isinstance(jinja_env, jinja2.nativetypes.NativeEnvironment):
        return jinja_env
    native = jinja2.nativetypes.NativeEnvironment(
        loader=jinja_env.loader,
        undefined=jinja_env.undefined,
        extensions=[type(e) for e in jinja_env.extensions.values()],
    )
    native.filters.update(jinja_env.filters)
    native.tests.update(jinja_env.tests)
    native.globals.update(jinja_env.globals)
    return native


def render_native(text: str, context: Mapping[str, Any], jinja_env: jinja2.Environment) -> Any:
    """Render the template ``text`` to a Python object (``"{{ [1, 2] }}"`` -> ``[1, 2]``)."""
    return native_environment(jinja_env).from_string(text).render(dict(context))


def render_text(text: str, context: Mapping[str, Any], jinja_env: jinja2.Environment) -> Any:
    """Render ``text`` as an inline template, never as the name of a template file."""
    return jinja_env.from_string(text).render(dict(context))
