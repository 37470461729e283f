"""``python -m airflow_export.validation``: run the six assertions on a scrape and print a table.

Exit status: 0 if all six pass, 1 if any fails, 2 if the exposition cannot be read or
parsed (or the arguments are wrong, as argparse does).
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

from airflow_export.validation.assertions import Thresholds, format_table, run_assertions
from airflow_export.validation.exposition import ExpositionError

__all__ = ["main", "read_exposition"]


def read_exposition(url: str | None = None, file: str | None = None, timeout: float = 10.0) -> str:
    """Fetch ``/metrics`` over HTTP, or read a saved exposition, as text.

    :param url: e.g. ``http://127.0.0.1:9102/metrics`` (requested as text format 0.0.4).
    :param file: path of a file holding an exposition; ``-`` reads standard input.
    :param timeout: HTTP timeout, seconds.
    :raises OSError: the URL or the file cannot be read (``urllib.error.URLError`` is one).
    :raises ValueError: neither or both of ``url`` and ``file`` given.
    """
    if (url is None) == (file is None):
        raise ValueError("give exactly one of url and file")
    if url is not None:
        request = urllib.request.Request(url, headers={"Accept": "text/plain;version=0.0.4"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            charset = response.headers.get_content_charset() or "utf-8"
            return response.read().decode(charset)
    if file == "-":
        return sys.stdin.read()
    with open(file, encoding="utf-8") as handle:  # type: ignore[arg-type]
        return handle.read()


def _parser() -> argparse.ArgumentParser:
    defaults = Thresholds()
    parser = argparse.ArgumentParser(
        prog="python -m airflow_export.validation",
        description="Check the six export assertions on a Prometheus /metrics scrape.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--url", help="metrics URL, e.g. http://127.0.0.1:9102/metrics")
    source.add_argument("--file", help="file holding an exposition ('-' for stdin)")
    parser.add_argument("--timeout", type=float, default=10.0, help="HTTP timeout, s (10)")
    parser.add_argument("--latency-p95-seconds", type=float, default=defaults.latency_p95_seconds)
    parser.add_argument("--success-rate", type=float, default=defaults.success_rate)
    parser.add_argument("--max-concurrency", type=float, default=defaults.max_concurrency)
    parser.add_argument("--max-queue-depth", type=float, default=defaults.max_queue_depth)
    parser.add_argument("--bytes-exported", type=float, default=defaults.bytes_exported)
    parser.add_argument("--pool", default=defaults.pool)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; see the module docstring for the exit status.

    :param argv: arguments without the program name (``sys.argv[1:]`` if ``None``).
    """
    args = _parser().parse_args(argv)
    try:
        text = read_exposition(args.url, args.file, args.timeout)
    except (OSError, urllib.error.URLError, ValueError) as exc:  # ValueError: bad URL, undecodable bytes
        print(f"error: cannot read {args.url or args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        results = run_assertions(
            text,
            latency_p95_seconds=args.latency_p95_seconds,
            success_rate=args.success_rate,
            max_concurrency=args.max_concurrency,
            max_queue_depth=args.max_queue_depth,
            bytes_exported=args.bytes_exported,
            pool=args.pool,
        )
    except (ExpositionError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(results))
    return 0 if all(result.passed for result in results) else 1
