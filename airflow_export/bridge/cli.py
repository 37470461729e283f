"""``airflow-export-bridge``: run the StatsD -> Prometheus bridge.

Usage::

    airflow-export-bridge --statsd-host 127.0.0.1 --statsd-port 9125 \\
        --metrics-host 127.0.0.1 --metrics-port 9102

``--mapping`` defaults to the mapping shipped in the package (:data:`DEFAULT_MAPPING`, the file
``deploy/statsd/mapping.yml`` links to); ``--no-mapping`` runs with statsd_exporter's default naming only.

On start it prints one machine-readable line to stdout (ports are the bound ones, so port 0
works)::

    bridge listening statsd=udp://127.0.0.1:9125 metrics=http://127.0.0.1:9102/metrics

The series budgets (``--max-*-series``) and why: ``docs/adr/0010-bridge-series-budgets.md``.

It stops cleanly on SIGTERM or SIGINT (exit status 0). ``--check-config`` only validates the
mapping file (like statsd_exporter's ``--check-config``). Exit status 1: bad mapping file,
address in use, or other start-up failure (the reason goes to stderr).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from airflow_export.bridge.mapping import MappingConfig, MappingError
from airflow_export.bridge.server import Bridge
from airflow_export.names import METRICS_PORT_DEFAULT, STATSD_PORT_DEFAULT

__all__ = ["DEFAULT_MAPPING", "build_arg_parser", "main"]

#: The StatsD mapping of the nine export metrics, shipped as package data.
DEFAULT_MAPPING = Path(__file__).resolve().parent / "statsd_mapping.yml"


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {value}")
    return value


def build_arg_parser() -> argparse.ArgumentParser:
    """The command-line parser (all options have loopback-safe defaults).

    :returns: an :class:`argparse.ArgumentParser`.
    """
    parser = argparse.ArgumentParser(
        prog="airflow-export-bridge",
        description="Receive StatsD over UDP and serve it as Prometheus metrics on /metrics "
        "(statsd_exporter-compatible line protocol and mapping file).",
    )
    parser.add_argument("--statsd-host", default="127.0.0.1", help="UDP address for StatsD (default: %(default)s)")
    parser.add_argument(
        "--statsd-port", type=_port, default=STATSD_PORT_DEFAULT, help="UDP port, 0 = any free (default: %(default)s)"
    )
    parser.add_argument("--metrics-host", default="127.0.0.1", help="HTTP address for /metrics (default: %(default)s)")
    parser.add_argument(
        "--metrics-port",
        type=_port,
        default=METRICS_PORT_DEFAULT,
        help="HTTP port, 0 = any free (default: %(default)s)",
    )
    mapping = parser.add_mutually_exclusive_group()
    mapping.add_argument(
        "--mapping", metavar="FILE", default=str(DEFAULT_MAPPING),
        help="mapping YAML in statsd_exporter's format (default: the mapping shipped in the package, %(default)s)",
    )
    mapping.add_argument(
        "--no-mapping", dest="mapping", action="store_const", const=None,
        help="no mapping rules: every metric under statsd_exporter's default naming",
    )
    parser.add_argument(
        "--max-mapped-series",
        "--max-series",
        dest="max_mapped_series",
        type=_non_negative_int,
        default=10000,
        metavar="N",
        help="most series created by samples a mapping rule matched, all rules together; samples for new ones "
        'beyond it are dropped and counted in statsd_bridge_series_dropped_total{kind="mapped"} '
        "(--max-series is a deprecated alias; default: %(default)s)",
    )
    parser.add_argument(
        "--max-series-per-rule",
        type=_non_negative_int,
        default=500,
        metavar="N",
        help="most series one mapping rule may create (within --max-mapped-series); samples for new ones beyond "
        'it are dropped and counted in statsd_bridge_series_dropped_total{kind="rule"} and '
        "statsd_bridge_rule_series_dropped_total{rule,metric}. Keep (rules that map) x this <= "
        "--max-mapped-series and no rule can be starved by another (default: %(default)s)",
    )
    parser.add_argument(
        "--max-unmapped-series",
        type=_non_negative_int,
        default=1000,
        metavar="N",
        help="most series created by samples no mapping rule matched (statsd_exporter's default naming); "
        'beyond it they are dropped and counted in statsd_bridge_series_dropped_total{kind="unmapped"}; '
        "0 = expose no unmapped metrics (default: %(default)s)",
    )
    parser.add_argument(
        "--route-cache-size",
        type=_non_negative_int,
        default=20000,
        help="routing cache entries (per raw name/type/tags) before it is cleared (default: %(default)s)",
    )
    parser.add_argument(
        "--max-key-length",
        type=_non_negative_int,
        default=1024,
        help="longest StatsD name plus tags (characters) accepted; longer samples are refused (default: %(default)s)",
    )
    parser.add_argument(
        "--read-buffer",
        type=_non_negative_int,
        default=32 * 1024 * 1024,
        metavar="BYTES",
        help="SO_RCVBUF for the UDP socket, 0 = system default (default: %(default)s)",
    )
    for style in ("dogstatsd", "influxdb", "librato", "signalfx"):
        parser.add_argument(
            f"--no-{style}-tags", action="store_true", help=f"do not parse {style} tags (parsed by default)"
        )
    parser.add_argument(
        "--log-level", default="info", choices=("debug", "info", "warning", "error"), help="(default: %(default)s)"
    )
    parser.add_argument("--check-config", action="store_true", help="validate --mapping and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bridge until SIGTERM/SIGINT.

    :param argv: arguments (default ``sys.argv[1:]``).
    :returns: the exit status: 0 after a clean stop or a valid ``--check-config``, 1 on failure.
    """
    args = build_arg_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logger = logging.getLogger("airflow_export.bridge")
    try:
        config = MappingConfig.from_file(args.mapping) if args.mapping else MappingConfig()
    except (MappingError, OSError) as exc:
        print(f"airflow-export-bridge: cannot load mapping: {exc}", file=sys.stderr)
        return 1
    if args.check_config:
        for warning in config.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(f"mapping OK: {len(config.mappings)} mappings in {config.source}")
        return 0

    bridge = Bridge(
        statsd_host=args.statsd_host,
        statsd_port=args.statsd_port,
        metrics_host=args.metrics_host,
        metrics_port=args.metrics_port,
        mapping=config,
        max_mapped_series=args.max_mapped_series,
        max_unmapped_series=args.max_unmapped_series,
        max_series_per_rule=args.max_series_per_rule,
        route_cache_size=args.route_cache_size,
        max_key_length=args.max_key_length,
        read_buffer_bytes=args.read_buffer,
        dogstatsd_tags=not args.no_dogstatsd_tags,
        influxdb_tags=not args.no_influxdb_tags,
        librato_tags=not args.no_librato_tags,
        signalfx_tags=not args.no_signalfx_tags,
    )
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        bridge.start()
    except OSError as exc:
        print(f"airflow-export-bridge: cannot listen: {exc}", file=sys.stderr)
        return 1
    print(bridge.listening_line, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        bridge.stop()
    logger.info("stopped")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
