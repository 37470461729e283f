"""Summaries, ratios, targets and the Markdown of the benchmark (pure functions, no I/O).

Data shapes (as stored in ``bench/results.json``):

* a **run** is what ``bench/approaches.py`` prints: ``{"approach", "rows", "bytes", "files",
  "seconds", "cpu_seconds", "setup_seconds", "rss_base_bytes", "rss_peak_bytes", ...}``;
* an **entry** is one approach (maybe with options) in a group:
  ``{"key", "approach", "label", "ours", "extra", "runs": [run, ...], "skipped": reason | None}``;
  ``runs[i]`` was measured in round ``i``;
* a **group** is the entries measured together at one size, interleaved round by round
  (A B C, A B C, ...): ``{"name", "title", "rows", "rounds", "entries": [...], "pairs": [[ours_key, peer_key], ...]}``;
* a **section** is ``{"meta": {...machine, date, command...}, "groups": [...]}``.

Units: MB = 10^6 bytes (throughput and RSS alike); rows/s and MB/s from the *median* wall time.
A ratio ours/peer is the median over rounds of ``peer_seconds / ours_seconds`` for the runs of
the same round (same rows, so that is the rows/s ratio), shown with its min-max over the rounds
and, beside it, the same median computed from CPU seconds. Targets are judged on the wall ratio.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MB = 1_000_000


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (mean of the middle two for an even count).

    :raises ValueError: ``values`` is empty.
    """
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


@dataclass(frozen=True)
class Summary:
    """The medians of one entry's runs.

    :param runs: number of runs.
    :param seconds: median wall seconds.
    :param rows_per_second: rows / median seconds.
    :param mb_per_second: median output bytes / median seconds / 10^6 (0 without output).
    :param rss_peak_mb: median peak RSS, MB.
    :param rss_growth_mb: median of (peak RSS - RSS before the work), MB.
    :param cpu_seconds: median CPU seconds (user + system).
    :param bytes: median output size in bytes.
    """

    runs: int
    rows: int
    seconds: float
    rows_per_second: float
    mb_per_second: float
    rss_peak_mb: float
    rss_growth_mb: float
    cpu_seconds: float
    bytes: float


def summarise(runs: Sequence[dict]) -> Summary:
    """Medians of a list of runs (see the module docstring for a run's keys).

    :raises ValueError: no runs, or runs with different row counts.
    """
    if not runs:
        raise ValueError("no runs to summarise")
    rows = {r["rows"] for r in runs}
    if len(rows) != 1:
        raise ValueError(f"runs of one entry exported different row counts: {sorted(rows)}")
    (n,) = rows
    seconds = median([r["seconds"] for r in runs])
    size = median([r["bytes"] for r in runs])
    return Summary(
        runs=len(runs),
        rows=n,
        seconds=seconds,
        rows_per_second=n / seconds if seconds > 0 else float("inf"),
        mb_per_second=size / seconds / MB if seconds > 0 else 0.0,
        rss_peak_mb=median([r["rss_peak_bytes"] for r in runs]) / MB,
        rss_growth_mb=median([r["rss_peak_bytes"] - r["rss_base_bytes"] for r in runs]) / MB,
        cpu_seconds=median([r["cpu_seconds"] for r in runs]),
        bytes=size,
    )


@dataclass(frozen=True)
class Ratio:
    """ours/peer speed ratio over paired rounds.

    :param value: median over rounds of ``peer_seconds / ours_seconds`` (> 1: ours faster).
    :param low: smallest per-round ratio.
    :param high: largest per-round ratio.
    :param rounds: rounds that had both runs.
    """

    value: float
    low: float
    high: float
    rounds: int
    cpu_value: float | None = None

    def text(self) -> str:
        """``0.85x (rounds 0.74-1.16, n=3; CPU 0.80x)``."""
        cpu = f"; CPU {self.cpu_value:.2f}x" if self.cpu_value is not None else ""
        return f"{self.value:.2f}x (rounds {self.low:.2f}-{self.high:.2f}, n={self.rounds}{cpu})"


def paired_ratio(ours_runs: Sequence[dict], peer_runs: Sequence[dict]) -> Ratio:
    """The speed ratio ours/peer from runs measured in the same rounds.

    Round ``i`` pairs ``ours_runs[i]`` with ``peer_runs[i]``; per round the ratio is
    ``(ours rows / ours seconds) / (peer rows / peer seconds)``. ``cpu_value`` is the same
    median computed with CPU seconds instead of wall seconds (less sensitive to other load on
    the machine, blind to waiting for the disk); None if a run used no measurable CPU.

    :raises ValueError: no round has both runs.
    """
    pairs = list(zip(ours_runs, peer_runs, strict=False))  # rounds where both ran
    ratios = [(o["rows"] / o["seconds"]) / (p["rows"] / p["seconds"]) for o, p in pairs]
    if not ratios:
        raise ValueError("no paired rounds")
    cpu = None
    if all(o.get("cpu_seconds") and p.get("cpu_seconds") for o, p in pairs):
        cpu = median([(o["rows"] / o["cpu_seconds"]) / (p["rows"] / p["cpu_seconds"]) for o, p in pairs])
    return Ratio(value=median(ratios), low=min(ratios), high=max(ratios), rounds=len(ratios), cpu_value=cpu)


def entry(group: dict, key: str) -> dict | None:
    """The entry ``key`` of ``group``, or None."""
    for e in group["entries"]:
        if e["key"] == key:
            return e
    return None


def measured(group: dict | None, key: str) -> list[dict] | None:
    """The runs of entry ``key`` in ``group`` if it has any, else None."""
    if group is None:
        return None
    e = entry(group, key)
    if e is None or e.get("skipped") or not e["runs"]:
        return None
    return e["runs"]


# ----------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """One target line.

    :param name: what is judged.
    :param status: ``"PASS"``, ``"FAIL"``, ``"INFO"`` (informational, no threshold) or
        ``"NOT MEASURED"``.
    :param measured: the measured figure as text.
    :param rule: the threshold as text.
    :param profile: what to profile when it fails: ``(approach key, group name)`` or None.
    """

    name: str
    status: str
    measured: str
    rule: str
    profile: tuple[str, str] | None = None

    def line(self) -> str:
        """``PASS  name: measured (rule)``."""
        return f"{self.status:<12} {self.name}: {self.measured} (target: {self.rule})"


def judge(ok: bool) -> str:
    """``"PASS"`` or ``"FAIL"``."""
    return "PASS" if ok else "FAIL"


def _ratio_target(
    name: str, groups: dict[str, dict], group: str, ours: str, peer: str, minimum: float | None, profile: bool = True
) -> Target:
    g = groups.get(group)
    o, p = measured(g, ours), measured(g, peer)
    rule = f"ours/peer >= {minimum:g}x" if minimum is not None else "informational"
    if o is None or p is None:
        return Target(name, "NOT MEASURED", f"no {group} runs of {ours} and {peer}", rule)
    r = paired_ratio(o, p)
    text = r.text()
    if minimum is None:
        return Target(name, "INFO", text, rule)
    ok = r.value >= minimum
    return Target(name, judge(ok), text, rule, None if ok or not profile else (ours, group))


def _rows_label(groups: dict[str, dict], name: str) -> str:
    g = groups.get(name)
    return f"{g['rows']:,} rows" if g else name


def csv_targets(groups: dict[str, dict]) -> list[Target]:
    """The CSV targets of the brief, judged on the groups measured.

    Groups: ``csv_small`` (100k rows), ``csv_big`` (1M), ``csv_huge`` (10M, opt-in),
    ``csv_write_only`` (1M rows written from 100k prefetched rows).

    * ours (fetch + write_csv) >= 0.8x fetch + bare ``writerows``, on ``csv_big`` (THE target:
      the same fetched rows, so the source's cost is in both);
    * the same on prefetched in-memory batches (``csv_write_only``, writer against writer);
    * ours >= 2x pandas (``read_sql`` + ``to_csv``), on ``csv_big``;
    * ours / BaseSQLToGCSOperator-style (on ``csv_big`` if it ran there, else ``csv_small``),
      ours / fetch-only, operator / write_csv: informational;
    * ours' peak RSS <= 100 MB at every size measured, and the ``csv_huge`` peak within 10 %
      of the ``csv_big`` peak.
    """
    big = _rows_label(groups, "csv_big")
    # The row-loop peer is informational and slow: by default it runs at the small size only.
    gcs = "csv_big" if measured(groups.get("csv_big"), "gcs_rowwise") else "csv_small"
    out = [
        _ratio_target(
            f"CSV ours vs bare writerows, fetch+write, {big} (THE target)",
            groups,
            "csv_big",
            "ours_csv",
            "bare_writerows",
            0.8,
        ),
        _ratio_target(
            f"CSV ours vs bare writerows, write-only on prefetched batches, {_rows_label(groups, 'csv_write_only')}",
            groups,
            "csv_write_only",
            "ours_write_only",
            "bare_write_only",
            0.8,
        ),
        _ratio_target(
            f"CSV ours vs pandas read_sql+to_csv, {big}", groups, "csv_big", "ours_csv", "pandas_sql_to_s3", 2.0
        ),
        _ratio_target(
            f"CSV ours vs BaseSQLToGCSOperator-style row loop, {_rows_label(groups, gcs)}",
            groups,
            gcs,
            "ours_csv",
            "gcs_rowwise",
            None,
        ),
        _ratio_target(
            f"CSV ours / fetch-only (share of the source's speed), {big}",
            groups,
            "csv_big",
            "ours_csv",
            "fetch_only",
            None,
        ),
        _ratio_target(
            f"CSV operator / write_csv (operator overhead), {big}",
            groups,
            "csv_big",
            "ours_operator_csv",
            "ours_csv",
            None,
        ),
    ]
    peaks = {}
    for name in ("csv_small", "csv_big", "csv_huge"):
        runs = measured(groups.get(name), "ours_csv")
        if runs is not None:
            peaks[name] = summarise(runs).rss_peak_mb
    rule = "<= 100 MB at every size"
    if peaks:
        worst = max(peaks.values())
        text = ", ".join(f"{groups[n]['rows']:,} rows {v:.1f} MB" for n, v in peaks.items())
        out.append(Target("CSV ours peak RSS", judge(worst <= 100.0), text, rule))
    else:
        out.append(Target("CSV ours peak RSS", "NOT MEASURED", "no ours_csv runs", rule))
    if "csv_big" in peaks and "csv_huge" in peaks:
        growth = peaks["csv_huge"] / peaks["csv_big"] - 1.0
        out.append(
            Target(
                f"CSV ours peak RSS {_rows_label(groups, 'csv_huge')} vs {big}",
                judge(abs(growth) <= 0.10),
                f"{peaks['csv_huge']:.1f} MB vs {peaks['csv_big']:.1f} MB ({growth:+.1%})",
                "within 10 %",
            )
        )
    else:
        out.append(
            Target(
                "CSV ours peak RSS 10M vs 1M", "NOT MEASURED", "10M not measured (run with --csv-10m)", "within 10 %"
            )
        )
    return out


def pdf_targets(groups: dict[str, dict]) -> list[Target]:
    """The PDF targets of the brief.

    Groups: ``pdf_small`` (1k rows), ``pdf_mid`` (10k), ``pdf_big`` (100k), ``pdf_memory``
    (ours only: one 20k-row file, and 100k rows rolled every 20k).

    * ours >= 10x platypus per-page Tables at ``pdf_mid`` (issue 13) and >= 5x at ``pdf_big``;
    * linear time: ours' time per row at ``pdf_big`` at most 20 % above that at ``pdf_mid``;
      one-sided: a per-row time that *falls* with size is the fixed cost of a file and the cell
      cache amortised (bench/ANALYSIS.md, "PDF: linearity"), not a defect;
    * no super-linear growth (when ``pdf_small`` ran too): the marginal time per row from
      ``pdf_mid`` to ``pdf_big``, (t_big - t_mid) / (n_big - n_mid), at most 1.2 x the marginal
      time per row from ``pdf_small`` to ``pdf_mid``. Marginal times take out the fixed cost of
      a file; one-sided because the check is for quadratic-style growth (a cost per row that
      rises with size), and ours' cost per row falls with size (its cell cache). Both lines are
      reported; see bench/ANALYSIS.md;
    * RSS growth within one file <= 0.5 MB per 1,000 rows: (peak at ``pdf_big`` - peak at
      ``pdf_mid``) per 1,000 rows between them, both one file (``max_rows_per_file=None``);
    * bounded with rolling: the peak of the rolled export <= 1.1 x the peak of one file of
      the rolling size.
    """
    mid, big = _rows_label(groups, "pdf_mid"), _rows_label(groups, "pdf_big")
    out = [
        _ratio_target(
            f"PDF ours vs platypus Table per page, {mid}", groups, "pdf_mid", "ours_pdf", "rl_table_per_page", 10.0
        ),
        _ratio_target(
            f"PDF ours vs platypus Table per page, {big}", groups, "pdf_big", "ours_pdf", "rl_table_per_page", 5.0
        ),
        _ratio_target(f"PDF ours vs platypus LongTable, {mid}", groups, "pdf_mid", "ours_pdf", "rl_longtable", None),
    ]
    small, large = measured(groups.get("pdf_mid"), "ours_pdf"), measured(groups.get("pdf_big"), "ours_pdf")
    if small is not None and large is not None:
        s, lg = summarise(small), summarise(large)
        per_small, per_large = s.seconds / s.rows * 1e6, lg.seconds / lg.rows * 1e6
        change = per_large / per_small - 1.0
        ok = change <= 0.20
        out.append(
            Target(
                f"PDF ours time per row, {big} vs {mid}",
                judge(ok),
                f"{per_large:.1f} us vs {per_small:.1f} us ({change:+.1%})",
                "at most 20 % slower, one-sided: faster per row at size is fixed cost amortised",
                None if ok else ("ours_pdf", "pdf_big"),
            )
        )
        tiny = measured(groups.get("pdf_small"), "ours_pdf")
        if tiny is not None:
            out.append(marginal_target(summarise(tiny), s, lg))
        slope = (lg.rss_peak_mb - s.rss_peak_mb) / ((lg.rows - s.rows) / 1000)
        out.append(
            Target(
                "PDF ours RSS growth within one file",
                judge(slope <= 0.5),
                f"{slope:.3f} MB per 1k rows ({s.rss_peak_mb:.1f} MB at {s.rows:,}, "
                f"{lg.rss_peak_mb:.1f} MB at {lg.rows:,})",
                "<= 0.5 MB per 1k rows",
            )
        )
    else:
        out.append(
            Target("PDF ours time per row, 100k vs 10k", "NOT MEASURED", "need pdf_mid and pdf_big",
                   "at most 20 % slower, one-sided")
        )
        out.append(
            Target(
                "PDF ours RSS growth within one file",
                "NOT MEASURED",
                "need pdf_mid and pdf_big",
                "<= 0.5 MB per 1k rows",
            )
        )
    mem = groups.get("pdf_memory")
    one, rolled = measured(mem, "ours_pdf_one_file"), measured(mem, "ours_pdf_rolled")
    name = "PDF ours RSS bounded by rolling"
    if one is not None and rolled is not None:
        a, b = summarise(one), summarise(rolled)
        limit = entry(mem, "ours_pdf_rolled")["extra"]["max_rows_per_file"]
        out.append(
            Target(
                f"{name} ({b.rows:,} rows, max_rows_per_file={limit:,})",
                judge(b.rss_peak_mb <= 1.1 * a.rss_peak_mb),
                f"{b.rss_peak_mb:.1f} MB vs {a.rss_peak_mb:.1f} MB for one {a.rows:,}-row file "
                f"({b.rss_peak_mb / a.rss_peak_mb - 1:+.1%})",
                "<= 1.1 x one file of the rolling size",
            )
        )
    else:
        out.append(Target(name, "NOT MEASURED", "need pdf_memory", "<= 1.1 x one file of the rolling size"))
    return out


def pdf_stream_targets(groups: dict[str, dict]) -> list[Target]:
    """The targets of the PDF memory section (issue 13; groups ``pdf_stream_10k``, ``_100k``, ``_1m``,
    each size a fresh process, one file, peak RSS = VmHWM including imports):

    * ours' peak RSS <= 100 MB at every size; aim: <= 60 MB (the flights table is Latin-only);
    * flat: the peak at 1M rows within 10 % of the peak at 10k;
    * ours' time per row at 1M within 20 % of that at 100k;
    * the 1M-row file passes ``qpdf --check``, has every page and pypdf finds its last row;
    * ours vs platypus Table per page and vs fpdf2 (speed and memory, informational here: the
      speed target against platypus is judged in the ``pdf`` section, 3 rounds).
    """
    names = ("pdf_stream_10k", "pdf_stream_100k", "pdf_stream_1m")
    ours: dict[str, list[dict]] = {}
    for n in names:
        runs = measured(groups.get(n), "ours_pdf")
        if runs is None:
            return [
                Target("PDF one file, peak RSS at 10k/100k/1M rows", "NOT MEASURED", "need pdf_stream", "<= 100 MB")
            ]
        ours[n] = runs
    s = {n: summarise(ours[n]) for n in names}
    peaks = ", ".join(f"{s[n].rss_peak_mb:.1f} MB at {s[n].rows:,}" for n in names)
    highest = max(x.rss_peak_mb for x in s.values())
    small, mid, big = (s[n] for n in names)
    growth = big.rss_peak_mb / small.rss_peak_mb - 1.0
    per_mid, per_big = mid.seconds / mid.rows * 1e6, big.seconds / big.rows * 1e6
    per_row = per_big / per_mid - 1.0
    cpu_text = ""
    if mid.cpu_seconds and big.cpu_seconds:
        cpu_mid, cpu_big = mid.cpu_seconds / mid.rows * 1e6, big.cpu_seconds / big.rows * 1e6
        cpu_text = f"; CPU {cpu_big:.1f} us vs {cpu_mid:.1f} us ({cpu_big / cpu_mid - 1.0:+.1%})"
    out = [
        Target("PDF one file, peak RSS at every size", judge(highest <= 100), peaks, "<= 100 MB"),
        Target("PDF one file, peak RSS at every size (aim, Latin-only data)", judge(highest <= 60), peaks, "<= 60 MB"),
        Target(
            f"PDF one file, peak RSS {big.rows:,} vs {small.rows:,} rows",
            judge(growth <= 0.10),
            f"{big.rss_peak_mb:.1f} MB vs {small.rss_peak_mb:.1f} MB ({growth:+.1%})",
            "within 10 %",
        ),
        Target(
            f"PDF one file, time per row {big.rows:,} vs {mid.rows:,} rows",
            judge(abs(per_row) <= 0.20),
            f"{per_big:.1f} us vs {per_mid:.1f} us ({per_row:+.1%}){cpu_text}",
            "within 20 %, wall time",
        ),
    ]
    checks: list[dict] = [r["verify"] for r in ours["pdf_stream_1m"] if r.get("verify")]
    if checks:
        v = checks[-1]
        ok = v["qpdf_ok"] and v["pages"] == v["expected_pages"] and v["last_row_found"]
        out.append(
            Target(
                f"PDF {big.rows:,}-row file valid",
                judge(ok),
                f"qpdf --check {'ok' if v['qpdf_ok'] else 'FAILED'}, {v['pages']:,} pages of {v['expected_pages']:,}, "
                f"last row {'found' if v['last_row_found'] else 'NOT found'} by pypdf ({v['footer']})",
                "qpdf passes, every page, pypdf extracts the last row",
            )
        )
    for peer, label in (("rl_table_per_page", "platypus Table per page"), ("fpdf2_cells", "fpdf2")):
        for n in names[:2]:
            p = measured(groups.get(n), peer)
            if p is None:
                continue
            r = paired_ratio(ours[n], p)
            peer_peak = summarise(p).rss_peak_mb
            out.append(
                Target(
                    f"PDF one file ours vs {label}, {s[n].rows:,} rows",
                    "INFO",
                    f"speed {r.text()}; peak RSS {s[n].rss_peak_mb:.1f} MB vs {peer_peak:.1f} MB",
                    "informational",
                )
            )
    return out


def marginal_target(small: Summary, mid: Summary, big: Summary) -> Target:
    """The super-linear growth check from three sizes (median seconds of each):

    marginal_low = (t_mid - t_small) / (n_mid - n_small), marginal_high = (t_big - t_mid) /
    (n_big - n_mid), per row; PASS when marginal_high <= 1.2 x marginal_low. The raw per-row
    times (t / n) are in the measured text too.
    """
    low = (mid.seconds - small.seconds) / (mid.rows - small.rows) * 1e6
    high = (big.seconds - mid.seconds) / (big.rows - mid.rows) * 1e6
    change = high / low - 1.0
    raw = ", ".join(f"{x.rows:,}: {x.seconds / x.rows * 1e6:.1f}" for x in (small, mid, big))
    return Target(
        f"PDF ours no super-linear growth, marginal time per row {mid.rows:,}->{big.rows:,} "
        f"vs {small.rows:,}->{mid.rows:,}",
        judge(change <= 0.20),
        f"{high:.1f} us vs {low:.1f} us ({change:+.1%}; raw time per row in us at {raw})",
        "<= 1.2 x, one-sided",
        None if change <= 0.20 else ("ours_pdf", "pdf_big"),
    )


# ----------------------------------------------------------------------------- Markdown


def fmt_int(value: float) -> str:
    """``1234567.8`` -> ``"1,234,568"``."""
    return f"{value:,.0f}"


def group_table(group: dict) -> str:
    """A Markdown table of one group: one line per entry with its medians."""
    head = ("approach", "what", "runs", "median s", "rows/s", "MB/s", "peak RSS MB", "RSS growth MB", "CPU s")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in group["entries"]:
        name = f"**{e['key']}**" if e.get("ours") else e["key"]
        if e.get("skipped"):
            lines.append(f"| {name} | {e['label']} | 0 | skipped: {e['skipped']} |  |  |  |  |  |")
            continue
        s = summarise(e["runs"])
        mbs = f"{s.mb_per_second:.1f}" if s.bytes else "-"
        lines.append(
            f"| {name} | {e['label']} | {s.runs} | {s.seconds:.3f} | {fmt_int(s.rows_per_second)} | {mbs} | "
            f"{s.rss_peak_mb:.1f} | {s.rss_growth_mb:.1f} | {s.cpu_seconds:.2f} |"
        )
    return "\n".join(lines)


def group_ratios(group: dict) -> list[str]:
    """``ours/peer`` ratio lines for the group's pairs that both have runs."""
    out = []
    for ours, peer in group.get("pairs", []):
        o, p = measured(group, ours), measured(group, peer)
        if o is None or p is None:
            continue
        r = paired_ratio(o, p)
        out.append(f"{ours} / {peer}: {r.text()}")
    return out
