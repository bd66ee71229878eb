"""Turning repetitions into figures: min/median/max, ratios to the peers, table, JSON."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.scenarios import Case
from bench.servers import TETHER


@dataclass
class Outcome:
    """Everything measured for one case on one server."""

    status: str = "ok"  # ok, timeout, error, skipped, n/a
    repetitions: list[dict[str, float]] = field(default_factory=list)
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def _ratio(tether: list[float], peer: list[float]) -> float | None:
    # Paired by repetition: repetition i of every server ran back to back, so
    # the ratio within a pair cancels most of the machine's drift.
    if tether and len(tether) == len(peer) and all(peer):
        return statistics.median(t / p for t, p in zip(tether, peer, strict=True))
    if tether and peer and statistics.median(peer):
        return statistics.median(tether) / statistics.median(peer)
    return None


def rows(case: Case, outcomes: dict[str, Outcome]) -> list[dict[str, Any]]:
    """One JSON object per (figure, server) of a case."""
    result = []
    for fig in case.figures:
        series = {
            name: [r[fig.name] for r in o.repetitions if fig.name in r]
            for name, o in outcomes.items()
        }
        for name, outcome in outcomes.items():
            values = series[name]
            row: dict[str, Any] = {
                "scenario": case.scenario,
                "case": case.label,
                "server": name,
                "figure": fig.name,
                "unit": fig.unit,
                "better": fig.better,
                "status": outcome.status,
                "repetitions": len(values),
                "min": min(values) if values else None,
                "median": statistics.median(values) if values else None,
                "max": max(values) if values else None,
                "values": values,
                "notes": outcome.notes,
            }
            if name == TETHER:
                row["ratio_to"] = {
                    peer: _ratio(values, series[peer]) for peer in outcomes if peer != TETHER
                }
            result.append(row)
    for name, outcome in outcomes.items():
        for sample_name, samples in outcome.samples.items():
            if samples:
                result.append(
                    {
                        "scenario": case.scenario,
                        "case": case.label,
                        "server": name,
                        "figure": f"{sample_name}, pooled over all subscribers and repetitions",
                        "unit": "ms",
                        "count": len(samples),
                        "p50": percentile(samples, 50),
                        "p99": percentile(samples, 99),
                        "max": max(samples),
                    }
                )
    return result


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def table(all_rows: list[dict[str, Any]], markdown: bool = False) -> str:
    """The figures as a table: one line per (case, figure, server)."""
    header = ["scenario", "case", "figure", "server", "median", "min", "max", "Tether ÷ server"]
    lines: list[list[str]] = []
    ratios: dict[tuple[str, str, str], dict[str, float | None]] = {
        (r["scenario"], r["case"], r["figure"]): r["ratio_to"] for r in all_rows if "ratio_to" in r
    }
    for r in all_rows:
        if "p50" in r:
            lines.append(
                [
                    r["scenario"],
                    r["case"],
                    "delivery pooled p50 / p99 / max (ms)",
                    r["server"],
                    f"{_num(r['p50'])} / {_num(r['p99'])} / {_num(r['max'])}",
                    "",
                    "",
                    "",
                ]
            )
            continue
        ratio = ""
        if r["server"] != TETHER:
            value = ratios.get((r["scenario"], r["case"], r["figure"]), {}).get(r["server"])
            ratio = "-" if value is None else f"{value:.2f}x"
        status = r["status"]
        median = _num(r["median"]) if status == "ok" or r["median"] is not None else status
        if status not in ("ok",) and r["median"] is None:
            median = status
        lines.append(
            [
                r["scenario"],
                r["case"],
                f"{r['figure']} ({r['unit']}, {r['better']} is better)",
                r["server"],
                median,
                _num(r["min"]),
                _num(r["max"]),
                ratio,
            ]
        )
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [
        max(len(h), *(len(c[i]) for c in lines)) if lines else len(h) for i, h in enumerate(header)
    ]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(
        [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
        + [fmt.format(*c) for c in lines]
    )
