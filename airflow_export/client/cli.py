"""``airflow-export request``: ask Airflow for exports over the plugin's API, wait, download.

    airflow-export request --format csv --records 1000 --wait --download ./out
    airflow-export request --batch --download ./out --json

``--batch`` requests the five demo scenarios (CSV 1k, 5k, 10k; PDF 1k, 5k) at once, waits for all and
prints a table. On HTTP 429 the client waits ``Retry-After`` (with jitter) and retries with the same
``Idempotency-Key``, so a retry never starts a second export. Server and login: ``--url/--user/--password``
or ``AIRFLOW_EXPORT_URL`` / ``AIRFLOW_EXPORT_USER`` / ``AIRFLOW_EXPORT_PASSWORD``.
Exit status: 0 all runs succeeded (or were accepted, without ``--wait``), 1 a run failed, 2 refused.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from airflow_export.client.api import ExportClient, RequestFailed, Submitted

#: The five scenarios of ``export_batch`` and of the demo: (format, records).
BATCH = (("csv", 1000), ("csv", 5000), ("csv", 10_000), ("pdf", 1000), ("pdf", 5000))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airflow-export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    req = sub.add_parser("request", help="request exports (POST /export/requests)")
    req.add_argument("--dag-id", default="export_single")
    req.add_argument("--format", choices=("csv", "pdf"), default="csv")
    req.add_argument("--records", type=int, default=1000)
    req.add_argument("--batch", action="store_true", help="the five scenarios at once (implies --wait)")
    req.add_argument("--wait", action="store_true", help="wait until the runs end")
    req.add_argument("--download", type=Path, metavar="DIR", help="download the files (implies --wait)")
    req.add_argument("--json", action="store_true", help="print JSON instead of a table")
    req.add_argument("--idempotency-key", help="default: a new random key per request")
    req.add_argument("--tries", type=int, default=10, help="attempts on 429 before giving up (default 10)")
    req.add_argument("--timeout", type=float, default=900, help="seconds to wait for the runs (default 900)")
    req.add_argument("--url", default=os.environ.get("AIRFLOW_EXPORT_URL", "http://127.0.0.1:8080"))
    req.add_argument("--user", default=os.environ.get("AIRFLOW_EXPORT_USER"))
    req.add_argument("--password", default=os.environ.get("AIRFLOW_EXPORT_PASSWORD"))
    return parser


def run_requests(client: ExportClient, dag_id: str, scenarios: list[tuple[str, int]], *, wait: bool,
                 download: Path | None, tries: int, timeout: float, key: str | None = None) -> list[dict[str, Any]]:
    """Submit every scenario, then (with ``wait``) wait for each run and download its files.

    :return: one result per scenario: format, records, run_id, state, http_status, refusals,
        waited_seconds, seconds (submit to end), files (with ``downloaded`` paths).
    """
    started = time.monotonic()
    submitted: list[tuple[str, int, Submitted]] = []
    for fmt, records in scenarios:
        done = client.submit({"records": records, "format": fmt}, dag_id=dag_id, key=key, max_tries=tries)
        submitted.append((fmt, records, done))
    results = []
    for fmt, records, done in submitted:
        result: dict[str, Any] = {
            "format": fmt, "records": records, "run_id": done.answer["run_id"], "state": done.answer["state"],
            "http_status": done.status, "idempotency_key": done.key, "refusals": done.refusals,
            "waited_seconds": round(done.waited_seconds, 2), "status_url": done.answer["status_url"], "files": [],
        }
        if wait:
            status = client.wait(done.answer["status_url"], timeout=max(1.0, timeout - (time.monotonic() - started)))
            result["state"], result["files"] = status["state"], status["files"]
            result["seconds"] = round(time.monotonic() - started, 2)
            for entry in status["files"] if download else ():
                entry["downloaded"] = str(client.download(entry, download / done.answer["run_id"]))
        results.append(result)
    return results


def table(results: list[dict[str, Any]]) -> str:
    """The results as the demo's kind of text table: one line per file (or per run without files)."""
    rows = [("format", "records", "429s", "state", "run", "file", "bytes", "seconds")]
    for r in results:
        for f in r["files"] or [{}]:
            rows.append((r["format"], f"{r['records']:,}", str(r["refusals"]), r["state"], r["run_id"],
                         f.get("downloaded") or f.get("path", "-"), f"{f['bytes']:,}" if f else "-",
                         f"{r['seconds']:.1f}" if "seconds" in r else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = (1, 2, 6, 7)
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True))) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.user or not args.password:
        print("airflow-export: --user and --password (or AIRFLOW_EXPORT_USER/AIRFLOW_EXPORT_PASSWORD) are needed",
              file=sys.stderr)
        return 2
    if args.batch and args.idempotency_key:
        print("airflow-export: --idempotency-key names one request; --batch sends five", file=sys.stderr)
        return 2
    client = ExportClient(args.url, args.user, args.password)
    scenarios = list(BATCH) if args.batch else [(args.format, args.records)]
    wait = args.wait or args.batch or args.download is not None
    try:
        results = run_requests(client, args.dag_id, scenarios, wait=wait, download=args.download,
                               tries=args.tries, timeout=args.timeout, key=args.idempotency_key)
    except RequestFailed as exc:
        print(json.dumps({"error": str(exc), "status": exc.status, **exc.body}) if args.json else
              f"airflow-export: {exc}", file=sys.stdout if args.json else sys.stderr)
        return 2
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 1 if any(r["state"] == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
