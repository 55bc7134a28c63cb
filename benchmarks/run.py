"""Benchmark restwell against the libraries it runs on, against a local nginx.

One command::

    python benchmarks/run.py              # full run, default 5 rounds (a few minutes)
    python benchmarks/run.py --quick      # smoke run (well under a minute)
    python benchmarks/run.py --rounds 9 --json results.json

Every contender runs in its own fresh Python process (``worker.py``), once per round; the
subject and its peer run back to back, their order alternating each round (A B, B A, ...), and
the result is the median of the per-round throughput ratios, with the min-max across rounds.
See ``benchmarks/README.md`` for the method and how to read the table.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import importlib.util
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKER = HERE / "worker.py"


from _origin import reexec_in_repo_venv, versions  # noqa: E402

reexec_in_repo_venv()

from _origin import BODY, Nginx, OriginError, ensure_nginx  # noqa: E402


@dataclass(frozen=True)
class Contender:
    key: str  # worker.py contender name
    label: str
    requests: int  # timed requests in the full run


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    subject: Contender
    peer: Contender
    record: tuple[Contender, ...]
    concurrency: int
    target: float

    @property
    def contenders(self) -> tuple[Contender, ...]:
        return (self.subject, self.peer, *self.record)


SCENARIOS = (
    Scenario(
        key="async",
        title="async fan-out: GET, {concurrency} in flight, body read",
        subject=Contender("restwell-async", "restwell.AsyncClient (defaults) + gather", 5000),
        peer=Contender("aiohttp", "aiohttp.ClientSession + Semaphore", 5000),
        record=(
            Contender("aiohttp-timeouts", "aiohttp + restwell's timeouts (5 s/30 s)", 5000),
            Contender("aiohttp-small-reads", "aiohttp + restwell's 64 KiB socket reads", 5000),
            Contender("httpx2-async", "httpx2.AsyncClient + Semaphore", 5000),
            Contender("httpx-async", "httpx.AsyncClient (0.x) + Semaphore", 2000),
        ),
        concurrency=64,
        target=0.9,
    ),
    Scenario(
        key="sync",
        title="sequential sync: GET, one at a time, body read",
        subject=Contender("restwell-sync", "restwell.Client (defaults)", 2000),
        peer=Contender("urllib3", "urllib3.PoolManager.request", 2000),
        record=(
            Contender("urllib3-timeouts", "urllib3 + restwell's timeouts (5 s/30 s)", 2000),
            Contender("requests", "requests.Session", 2000),
            Contender("httpx2-sync", "httpx2.Client", 2000),
        ),
        concurrency=1,
        target=0.9,
    ),
)


@dataclass
class Run:
    round: int
    requests: int
    wall_s: float
    cpu_s: float
    origin_requests: int

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s

    @property
    def cpu_us(self) -> float:
        return self.cpu_s / self.requests * 1e6


@dataclass
class Results:
    runs: dict[str, dict[str, list[Run]]] = field(default_factory=dict)  # scenario -> key -> runs
    versions: dict[str, str] = field(default_factory=dict)

    def add(self, scenario: str, contender: str, run: Run) -> None:
        self.runs.setdefault(scenario, {}).setdefault(contender, []).append(run)


class WorkerFailed(RuntimeError):
    pass


def snapshot_restwell(into: Path) -> str:
    """Copy the restwell package being benchmarked; workers import the copy.

    Other people edit the working tree while a benchmark runs: every round must measure the
    same code, and a half-saved file must not abort the run halfway.
    """
    spec = importlib.util.find_spec("restwell")
    if spec is None or not spec.submodule_search_locations:
        raise WorkerFailed("restwell is not importable")
    source = Path(next(iter(spec.submodule_search_locations)))
    error = ""
    for attempt in range(4):  # a file caught mid-save: wait for the editor and copy again
        if attempt:
            print(f"  (the snapshot does not import; retrying in 10 s)\n{error}", flush=True)
            time.sleep(10)
        shutil.rmtree(into / "restwell", ignore_errors=True)
        shutil.copytree(source, into / "restwell", ignore=shutil.ignore_patterns("__pycache__"))
        # Byte-compile once, so no worker compiles it again (PYTHONDONTWRITEBYTECODE is common).
        compileall.compile_dir(into / "restwell", quiet=1)
        check = subprocess.run(
            [sys.executable, "-c", "import restwell; print(restwell.__file__)"],
            env=_worker_env(into),
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode == 0 and check.stdout.startswith(str(into)):
            return str(source)
        error = (check.stderr or check.stdout).strip()[-2000:]
    raise WorkerFailed(f"no importable snapshot of {source}:\n{error}")


def _worker_env(snapshot: Path) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONPATH": str(snapshot) + (os.pathsep + path if path else ""),
    }


def _git_state() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "not a git checkout"
    dirty = git("status", "--porcelain", "--", "src")
    return f"git {commit}" + (" + uncommitted changes in src/" if dirty else "")


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `with Nginx(...)` block: nginx stops


def worker_report(command: list[str], snapshot: Path, label: str) -> dict[str, Any]:
    """Run one worker process on the restwell ``snapshot``; its JSON report, checked.

    Raises:
        WorkerFailed: the worker failed, or imported restwell from anywhere but the snapshot.
    """
    done = subprocess.run(
        command,
        env=_worker_env(snapshot),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise WorkerFailed(
            f"{label} failed (exit {done.returncode}):\n{done.stderr.strip()[-3000:]}"
        )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    loaded = report.get("restwell_file")
    if loaded is not None and not str(loaded).startswith(str(snapshot)):
        raise WorkerFailed(f"{label} imported restwell from {loaded}, not the snapshot")
    return report


def run_worker(
    origin: Nginx,
    snapshot: Path,
    contender: Contender,
    requests: int,
    warmup: int,
    concurrency: int,
) -> tuple[Run, dict[str, Any]]:
    before = origin.requests_served()
    command = [
        sys.executable,
        str(WORKER),
        contender.key,
        "--url",
        origin.url,
        "--body-length",
        str(len(BODY)),
        "--requests",
        str(requests),
        "--warmup",
        str(warmup),
        "--concurrency",
        str(concurrency),
    ]
    report = worker_report(command, snapshot, contender.key)
    served = origin.requests_served() - before - 1  # minus the counter query itself
    if served != warmup + requests:
        raise WorkerFailed(
            f"{contender.key}: nginx served {served} requests for {warmup} warm-up + "
            f"{requests} timed ones (retries, a cache, or requests that never left the client?)"
        )
    run = Run(0, int(report["requests"]), float(report["wall_s"]), float(report["cpu_s"]), served)
    return run, report


def _order(scenario: Scenario, round_index: int) -> list[Contender]:
    pair = [scenario.subject, scenario.peer]
    if round_index % 2:
        pair.reverse()
    record = list(scenario.record)
    if round_index % 2:
        record.reverse()
    return [*pair, *record]


def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def _ratios(runs_a: list[Run], runs_b: list[Run], *, cpu: bool = False) -> list[float]:
    """Per-round ratios of a to b: throughput (a/b), or CPU efficiency (b's cost / a's)."""
    by_round_b = {r.round: r for r in runs_b}
    out = []
    for ra in runs_a:
        rb = by_round_b.get(ra.round)
        if rb is not None:
            out.append(rb.cpu_us / ra.cpu_us if cpu else ra.rps / rb.rps)
    return out


def summarize(scenario: Scenario, results: Results) -> dict[str, Any]:
    runs = results.runs.get(scenario.key, {})
    peer_runs = runs.get(scenario.peer.key, [])
    rows: dict[str, Any] = {}
    for contender in scenario.contenders:
        mine = runs.get(contender.key, [])
        if not mine:
            continue
        ratios = _ratios(mine, peer_runs)
        cpu_ratios = _ratios(mine, peer_runs, cpu=True)
        row: dict[str, Any] = {
            "label": contender.label,
            "requests": mine[0].requests,
            "rounds": len(mine),
            "median_rps": statistics.median(r.rps for r in mine),
            "median_cpu_us": statistics.median(r.cpu_us for r in mine),
            "ratio_median": statistics.median(ratios) if ratios else None,
            "ratio_min": min(ratios) if ratios else None,
            "ratio_max": max(ratios) if ratios else None,
            "ratios": ratios,
            "cpu_ratio_median": statistics.median(cpu_ratios) if cpu_ratios else None,
            "runs": [vars(r) | {"rps": r.rps, "cpu_us": r.cpu_us} for r in mine],
        }
        if contender is scenario.subject:
            row["target"] = scenario.target
            row["pass"] = ratios != [] and statistics.median(ratios) >= scenario.target
        rows[contender.key] = row
    return rows


def render(scenario: Scenario, rows: dict[str, Any], rounds: int) -> str:
    peer = scenario.peer
    head = [
        f"== {scenario.title.format(concurrency=scenario.concurrency)} "
        f"({rounds} round{'s' if rounds != 1 else ''}) ==",
    ]
    columns = (
        "contender",
        "reqs/run",
        "req/s",
        "CPU µs/req",
        f"vs {peer.key} req/s (min-max)",
        "CPU eff.",
        "target",
    )
    table: list[tuple[str, ...]] = [columns]
    for contender in scenario.contenders:
        row = rows.get(contender.key)
        if row is None:
            continue
        if contender is peer:
            ratio, cpu_ratio, verdict = "1.000x (peer)", "1.00x", ""
        else:
            ratio = (
                f"{row['ratio_median']:.3f}x ({row['ratio_min']:.2f}-{row['ratio_max']:.2f})"
                if row["ratio_median"] is not None
                else "n/a"
            )
            cpu_ratio = (
                f"{row['cpu_ratio_median']:.2f}x" if row["cpu_ratio_median"] is not None else "n/a"
            )
            if contender is scenario.subject:
                verdict = f">= {scenario.target:.2f}x {'PASS' if row['pass'] else 'FAIL'}"
            else:
                verdict = "(record)"
        table.append(
            (
                contender.label,
                f"{row['requests']:,}",
                _fmt_rate(row["median_rps"]),
                f"{row['median_cpu_us']:.0f}",
                ratio,
                cpu_ratio,
                verdict,
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    numeric = {1, 2, 3}
    lines = []
    for n, line in enumerate(table):
        cells = [
            cell.rjust(widths[i]) if i in numeric and n else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(head + lines)


PACKAGES = ("restwell", "aiohttp", "urllib3", "httpx2", "httpx", "requests")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="restwell vs aiohttp / urllib3 (and httpx2, httpx, requests for the record) "
        "against a private nginx on 127.0.0.1."
    )
    parser.add_argument(
        "--quick", action="store_true", help="short smoke run (2 rounds, few requests)"
    )
    parser.add_argument("--rounds", type=int, help="rounds per scenario (default 5; --quick: 2)")
    parser.add_argument("--json", metavar="FILE", help="write the raw numbers to FILE")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[s.key for s in SCENARIOS],
        help="run only this scenario (repeatable; default: all)",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="only start the origin, print its URL and wait for Ctrl-C (to profile a worker)",
    )
    parser.add_argument(
        "--no-record", action="store_true", help="only restwell and its peer (skip the record ones)"
    )
    args = parser.parse_args(argv)
    rounds: int = args.rounds or (2 if args.quick else 5)
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    scale = 0.2 if args.quick else 1.0
    warmup = 50 if args.quick else 200
    scenarios = [s for s in SCENARIOS if not args.scenario or s.key in args.scenario]

    signal.signal(signal.SIGTERM, _sigterm)
    results = Results(versions=versions(PACKAGES))
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    try:
        binary = ensure_nginx()
        with (
            tempfile.TemporaryDirectory(prefix="restwell-bench-src-") as tmp,
            Nginx(binary) as origin,
        ):
            snapshot = Path(tmp)
            source = snapshot_restwell(snapshot)
            results.versions["restwell_source"] = f"{source} ({_git_state()})"
            results.versions["nginx"] = origin.version
            if args.serve:
                print(f"origin: {origin.url} ({len(BODY)}-byte body); Ctrl-C stops it", flush=True)
                signal.pause()
            headers = origin.headers()
            print(
                f"origin: nginx {origin.version} (pid {origin.pid}) at {origin.url}: "
                f"{len(BODY)}-byte JSON, Cache-Control: {headers.get('cache-control')}, "
                f"ETag: {headers.get('etag')}"
            )
            print(
                "versions: "
                + ", ".join(
                    f"{k} {v}"
                    for k, v in results.versions.items()
                    if k not in ("nginx", "restwell_source")
                )
                + f"; {os.cpu_count()} CPUs, load {load_before[0]:.2f}"
            )
            print(f"restwell measured: a copy of {results.versions['restwell_source']}")
            print(
                f"{rounds} round(s); each run: fresh process, {warmup} warm-up requests, then the "
                "timed ones; all responses checked (200 + body length + nginx request count)\n",
                flush=True,
            )
            for round_index in range(rounds):
                for scenario in scenarios:
                    contenders = _order(scenario, round_index)
                    if args.no_record:
                        contenders = [c for c in contenders if c not in scenario.record]
                    for contender in contenders:
                        requests = max(50, int(contender.requests * scale))
                        run, _ = run_worker(
                            origin, snapshot, contender, requests, warmup, scenario.concurrency
                        )
                        run.round = round_index
                        results.add(scenario.key, contender.key, run)
                        print(
                            f"  round {round_index + 1}/{rounds} {scenario.key:5} "
                            f"{contender.key:15} {_fmt_rate(run.rps):>7} req/s "
                            f"{run.cpu_us:6.0f} µs CPU/req",
                            flush=True,
                        )
    except (OriginError, WorkerFailed) as exc:
        print(f"\nbenchmark aborted: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: nginx stopped", file=sys.stderr)
        return 130

    load_after = os.getloadavg()
    summary: dict[str, Any] = {}
    print()
    for scenario in scenarios:
        rows = summarize(scenario, results)
        summary[scenario.key] = rows
        print(render(scenario, rows, rounds))
        print()
    print(
        "req/s and CPU µs/req: medians over rounds. 'vs' column: median of per-round throughput "
        "ratios (contender/peer), min-max across rounds.\n'CPU eff.': median per-round "
        "peer CPU per request / contender CPU per request (>1: cheaper than the peer). "
        f"Load average {load_before[0]:.2f} -> {load_after[0]:.2f}."
    )
    noisy = []
    for s in scenarios:
        row = summary[s.key].get(s.subject.key, {})
        if (
            row.get("ratio_median")
            and row["ratio_max"] - row["ratio_min"] > 0.3 * row["ratio_median"]
        ):
            noisy.append(s.key)
    if noisy:
        print(
            f"NOTE: restwell's per-round ratios in {', '.join(noisy)} spread over more than 30%: "
            "the machine was busy; trust the CPU eff. column more, or re-run with more --rounds."
        )
    missed = [s for s in scenarios if not summary[s.key].get(s.subject.key, {}).get("pass")]
    if missed:
        print("TARGET MISSED: " + ", ".join(f"{s.key} (< {s.target:.2f}x)" for s in missed))
    else:
        print("All targets met.")

    if args.json:
        payload = {
            "started": started.isoformat(),
            "rounds": rounds,
            "quick": bool(args.quick),
            "warmup": warmup,
            "body_bytes": len(BODY),
            "versions": results.versions,
            "cpu_count": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
            "scenarios": {
                s.key: {
                    "title": s.title.format(concurrency=s.concurrency),
                    "concurrency": s.concurrency,
                    "subject": s.subject.key,
                    "peer": s.peer.key,
                    "target": s.target,
                    "contenders": summary[s.key],
                }
                for s in scenarios
            },
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"raw numbers written to {args.json}")
    return 0  # a measurement, not a test: a missed target is reported, not an error


if __name__ == "__main__":
    sys.exit(main())
