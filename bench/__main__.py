"""`python -m bench`: run the scenarios, print the table, write bench/results/latest.json.

python -m bench                         # full run (3 repetitions, ~7 min)
python -m bench --quick                 # reduced counts, 1 repetition (~1 min)
python -m bench --scenario echo --quick # one scenario
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from bench.proc import ROOT, ScenarioTimeout
from bench.report import Outcome, rows, table
from bench.scenarios import Case, echo, fanout, heartbeat, memory, queue
from bench.servers import SERVERS

SCENARIOS = {
    "echo": echo,
    "fanout": fanout,
    "memory": memory,
    "heartbeat": heartbeat,
    "queue": queue,
}
RESULTS = ROOT / "bench" / "results" / "latest.json"
# Quick or partial runs go elsewhere, so that a smoke test never overwrites the
# figures of the last full run (which docs/benchmarks.md quotes).
PARTIAL = ROOT / "bench" / "results" / "partial.json"


def machine() -> dict[str, Any]:
    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 2**20, 1),
        "cpu": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        ),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "libraries": {
            d: version(d)
            for d in ["tether", "trio", "trio-websocket", "wsproto", "websockets", "orjson"]
        },
        "commit": commit,
        # Other work may be under way in the tree: say whether tether/ differed from HEAD.
        "tether_modified": bool(
            subprocess.run(
                ["git", "status", "--porcelain", "tether"], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip()
        ),
    }


async def measure(case: Case, server: str) -> tuple[str, Any]:
    """One measurement within the case's time limit: ("ok", m), ("timeout"/"error", why)."""
    try:
        async with asyncio.timeout(case.time_limit + 15):
            return "ok", await case.run(SERVERS[server])
    except (TimeoutError, ScenarioTimeout) as exc:
        return "timeout", str(exc) or "over the time limit"
    except Exception as exc:  # one failure must not stop the other measurements
        return "error", f"{type(exc).__name__}: {exc}"


async def run_case(case: Case, servers: list[str], repetitions: int) -> dict[str, Outcome]:
    taking_part = [s for s in servers if s in case.servers]
    outcomes = {s: Outcome() for s in taking_part}
    if case.skip_reason:
        print(f"  skipped: {case.skip_reason}", flush=True)
        for o in outcomes.values():
            o.status, o.notes = "skipped", [case.skip_reason]
        return outcomes
    reps = case.repetitions or repetitions
    for rep in range(reps):
        # Interleaved: A B C, A B C, ... so that drift hits every server alike.
        for server in taking_part:
            started = time.monotonic()
            status, result = await measure(case, server)
            outcome = outcomes[server]
            took = time.monotonic() - started
            if status == "ok":
                outcome.repetitions += result.windows or [result.values]
                for key, samples in result.samples.items():
                    outcome.samples.setdefault(key, []).extend(samples)
                outcome.notes += [n for n in result.notes if n not in outcome.notes]
                shown = ", ".join(f"{k} {v:,.2f}" for k, v in result.values.items()) or (
                    f"{len(result.windows)} windows"
                )
                print(f"  [{rep + 1}/{reps}] {server:<20} {shown}  ({took:.0f} s)", flush=True)
            else:
                if outcome.status == "ok" and not outcome.repetitions:
                    outcome.status = status
                outcome.notes.append(f"repetition {rep + 1}: {status}: {result}")
                print(f"  [{rep + 1}/{reps}] {server:<20} {status}: {result}", flush=True)
    return outcomes


async def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced counts, 1 repetition")
    parser.add_argument(
        "--scenario", action="append", choices=list(SCENARIOS), help="repeatable; default: all"
    )
    parser.add_argument(
        "--server", action="append", choices=list(SERVERS), help="repeatable; default: all"
    )
    parser.add_argument("--repetitions", type=int, help="default: 3, or 1 with --quick")
    parser.add_argument(
        "--output",
        type=Path,
        help="default: bench/results/latest.json for a full run of everything, "
        "else bench/results/partial.json",
    )
    parser.add_argument(
        "--show",
        type=Path,
        metavar="JSON",
        help="print the table of an earlier run's JSON instead of running",
    )
    parser.add_argument("--markdown", action="store_true", help="with --show: a Markdown table")
    args = parser.parse_args()

    if args.show:
        saved = orjson.loads(args.show.read_bytes())
        print(table(saved["results"], markdown=args.markdown))
        return 0

    repetitions = args.repetitions or (1 if args.quick else 3)
    servers = args.server or list(SERVERS)
    started = time.monotonic()
    all_rows: list[dict[str, Any]] = []
    for name in args.scenario or list(SCENARIOS):
        for case in SCENARIOS[name].cases(args.quick):
            print(f"{case.scenario}: {case.label}", flush=True)
            outcomes = await run_case(case, servers, repetitions)
            all_rows += rows(case, outcomes)
    seconds = time.monotonic() - started

    print()
    print(table(all_rows))
    notes = {(r["scenario"], r["server"], n) for r in all_rows for n in r.get("notes", [])}
    for scenario, server, note in sorted(notes):
        print(f"note: {scenario}, {server}: {note}")
    print(
        f"\n{'quick' if args.quick else 'full'} run, {repetitions} repetition(s), {seconds:.0f} s"
    )

    report = {
        "mode": "quick" if args.quick else "full",
        "repetitions": repetitions,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        "machine": machine(),
        "results": all_rows,
    }
    complete = not (args.quick or args.scenario or args.server or args.repetitions)
    output = args.output or (RESULTS if complete else PARTIAL)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"written: {output}")
    failed = any(r["status"] in ("timeout", "error") for r in all_rows if "status" in r)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
