"""The overhead of each restwell integration over the bare library, against a local nginx.

One command::

    python benchmarks/integrations.py              # full run, 5 rounds (about 3 minutes)
    python benchmarks/integrations.py --quick      # smoke run (2 rounds, 1/5 of the requests)
    python benchmarks/integrations.py --rounds 9 --json integrations.json
    python benchmarks/integrations.py --pair aiohttp-middleware --pair httpx2-async-transport

Each pair is one library used bare and the same library with restwell inside (an adapter, a
transport, a middleware, or ``restwell.Client`` over the library's session). Same method as
``run.py``, whose helpers and origin this reuses: a frozen copy of restwell, one fresh process
per run (``worker.py``), warm-up, every response checked and nginx's request count verified,
the two sides of a pair back to back in alternating order, and the median of the per-round
ratios reported with their min-max. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _origin import reexec_in_repo_venv

reexec_in_repo_venv()

from _origin import (  # noqa: E402
    BODY,
    Nginx,
    OriginError,
    ensure_nginx,
    versions,
)
from run import (  # noqa: E402
    PACKAGES,
    Contender,
    Results,
    Run,
    Scenario,
    WorkerFailed,
    _fmt_rate,
    _git_state,
    _order,
    _ratios,
    _sigterm,
    run_worker,
    snapshot_restwell,
    summarize,
)

SYNC_REQUESTS = 2000
ASYNC_REQUESTS = 5000
ASYNC_CONCURRENCY = 64
LEGACY_ASYNC_REQUESTS = 2000  # legacy httpx's AsyncClient is slow: as in run.py


def _pair(
    key: str,
    title: str,
    bare: tuple[str, str],
    wrapped: tuple[str, str],
    requests: int,
    concurrency: int,
) -> Scenario:
    """A pair as run.py's Scenario: subject = with restwell, peer = the bare library."""
    return Scenario(
        key=key,
        title=title,
        subject=Contender(wrapped[0], wrapped[1], requests),
        peer=Contender(bare[0], bare[1], requests),
        record=(),
        concurrency=concurrency,
        target=0.0,  # issue 3 sets no target: the ratio is reported, not judged
    )


SYNC_PAIRS = (
    _pair(
        "requests-adapter",
        "requests: RetryAdapter mounted",
        ("requests", "requests.Session"),
        ("requests-retryadapter", "Session + RetryAdapter()"),
        SYNC_REQUESTS,
        1,
    ),
    _pair(
        "httpx2-sync-transport",
        "httpx2: RetryTransport",
        ("httpx2-sync", "httpx2.Client"),
        ("httpx2-sync-retrytransport", "Client(transport=RetryTransport())"),
        SYNC_REQUESTS,
        1,
    ),
    _pair(
        "httpx-sync-transport",
        "httpx (legacy): RetryTransport",
        ("httpx-sync", "httpx.Client"),
        ("httpx-sync-retrytransport", "Client(transport=RetryTransport())"),
        SYNC_REQUESTS,
        1,
    ),
    _pair(
        "restwell-over-requests",
        "restwell.Client(session=requests.Session())",
        ("requests", "requests.Session"),
        ("restwell-requests-session", "restwell.Client(session=Session())"),
        SYNC_REQUESTS,
        1,
    ),
)
ASYNC_PAIRS = (
    _pair(
        "httpx2-async-transport",
        "httpx2: AsyncRetryTransport",
        ("httpx2-async", "httpx2.AsyncClient"),
        ("httpx2-async-retrytransport", "AsyncClient(transport=AsyncRetryTransport())"),
        ASYNC_REQUESTS,
        ASYNC_CONCURRENCY,
    ),
    _pair(
        "aiohttp-middleware",
        "aiohttp: RetryMiddleware",
        ("aiohttp", "aiohttp.ClientSession"),
        ("aiohttp-retrymiddleware", "ClientSession(middlewares=(RetryMiddleware(),))"),
        ASYNC_REQUESTS,
        ASYNC_CONCURRENCY,
    ),
    _pair(
        "httpx-async-transport",
        "httpx (legacy): AsyncRetryTransport",
        ("httpx-async", "httpx.AsyncClient"),
        ("httpx-async-retrytransport", "AsyncClient(transport=AsyncRetryTransport())"),
        LEGACY_ASYNC_REQUESTS,
        ASYNC_CONCURRENCY,
    ),
    _pair(
        "restwell-over-httpx2",
        "restwell.AsyncClient(session=httpx2.AsyncClient())",
        ("httpx2-async", "httpx2.AsyncClient"),
        ("restwell-httpx2-session", "restwell.AsyncClient(session=AsyncClient())"),
        ASYNC_REQUESTS,
        ASYNC_CONCURRENCY,
    ),
)
PAIRS = SYNC_PAIRS + ASYNC_PAIRS
OPT_IN = frozenset({"httpx-async-transport"})
"""Pairs run only when named with --pair: legacy httpx's AsyncClient manages ~400 req/s here,
so its pair would take a fifth of the run to show a ratio lost in that library's own cost."""
GROUPS = (
    (f"sequential sync: {SYNC_REQUESTS:,} GETs, one at a time, body read", SYNC_PAIRS),
    (
        f"async: {ASYNC_REQUESTS:,} GETs ({LEGACY_ASYNC_REQUESTS:,} for legacy httpx), "
        f"{ASYNC_CONCURRENCY} in flight (Semaphore + gather), body read",
        ASYNC_PAIRS,
    ),
)


def _round_order(pairs: list[Scenario], round_index: int) -> list[Scenario]:
    """Sync and async pairs interleaved; the whole order reversed every other round."""
    sync = [p for p in pairs if p.concurrency == 1]
    concurrent = [p for p in pairs if p.concurrency != 1]
    order: list[Scenario] = []
    for i in range(max(len(sync), len(concurrent))):
        order += sync[i : i + 1] + concurrent[i : i + 1]
    return order[::-1] if round_index % 2 else order


def _overheads(runs_a: list[Run], runs_b: list[Run]) -> list[float]:
    """Per-round extra CPU µs per request of a over b."""
    by_round_b = {r.round: r for r in runs_b}
    return [ra.cpu_us - by_round_b[ra.round].cpu_us for ra in runs_a if ra.round in by_round_b]


def summarize_pair(pair: Scenario, results: Results) -> dict[str, Any]:
    rows = summarize(pair, results)
    wrapped, bare = rows.get(pair.subject.key), rows.get(pair.peer.key)
    if wrapped is None or bare is None:
        return {}
    for row in rows.values():
        row.pop("target", None)
        row.pop("pass", None)
    runs = results.runs[pair.key]
    extra = _overheads(runs[pair.subject.key], runs[pair.peer.key])
    cpu_ratios = _ratios(runs[pair.subject.key], runs[pair.peer.key], cpu=True)
    return {
        "title": pair.title,
        "concurrency": pair.concurrency,
        "bare": bare,
        "with_restwell": wrapped,
        "ratio_median": wrapped["ratio_median"],
        "ratio_min": wrapped["ratio_min"],
        "ratio_max": wrapped["ratio_max"],
        "ratios": wrapped["ratios"],
        "cpu_efficiency_median": wrapped["cpu_ratio_median"],
        "cpu_efficiency": cpu_ratios,
        "extra_cpu_us_median": statistics.median(extra),
        "extra_cpu_us": extra,
    }


def render(title: str, pairs: list[Scenario], summary: dict[str, Any], rounds: int) -> str:
    columns = (
        "integration",
        "reqs/run",
        "bare req/s",
        "restwell req/s",
        "ratio (min-max)",
        "bare CPU µs/req",
        "restwell CPU µs/req",
        "+CPU µs/req",
        "CPU eff.",
    )
    table: list[tuple[str, ...]] = [columns]
    for pair in pairs:
        row = summary.get(pair.key)
        if not row:
            continue
        bare, wrapped = row["bare"], row["with_restwell"]
        table.append(
            (
                pair.title,
                f"{wrapped['requests']:,}",
                _fmt_rate(bare["median_rps"]),
                _fmt_rate(wrapped["median_rps"]),
                f"{row['ratio_median']:.3f}x ({row['ratio_min']:.2f}-{row['ratio_max']:.2f})",
                f"{bare['median_cpu_us']:.0f}",
                f"{wrapped['median_cpu_us']:.0f}",
                f"{row['extra_cpu_us_median']:+.0f}",
                f"{row['cpu_efficiency_median']:.2f}x",
            )
        )
    if len(table) == 1:
        return ""
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    numeric = {1, 2, 3, 5, 6, 7, 8}
    lines = [f"== {title} ({rounds} round{'s' if rounds != 1 else ''}) =="]
    for n, line in enumerate(table):
        cells = [
            cell.rjust(widths[i]) if i in numeric and n else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Each restwell integration vs its library used bare (requests, httpx2, "
        "httpx, aiohttp), against a private nginx on 127.0.0.1."
    )
    parser.add_argument(
        "--quick", action="store_true", help="short smoke run (2 rounds, 1/5 of the requests)"
    )
    parser.add_argument("--rounds", type=int, help="rounds (default 5; --quick: 2)")
    parser.add_argument("--json", metavar="FILE", help="write the raw numbers to FILE")
    parser.add_argument(
        "--pair",
        action="append",
        choices=[p.key for p in PAIRS],
        help="run only this pair (repeatable; default: all but "
        + ", ".join(sorted(OPT_IN))
        + ", which run only when named)",
    )
    args = parser.parse_args(argv)
    rounds: int = args.rounds or (2 if args.quick else 5)
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    scale = 0.2 if args.quick else 1.0
    warmup = 50 if args.quick else 200
    pairs = [p for p in PAIRS if (p.key in args.pair if args.pair else p.key not in OPT_IN)]

    signal.signal(signal.SIGTERM, _sigterm)
    results = Results(versions=versions(PACKAGES))
    started = datetime.datetime.now(datetime.UTC)
    clock0 = time.monotonic()
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
            print(
                f"origin: nginx {origin.version} (pid {origin.pid}) at {origin.url}: "
                f"{len(BODY)}-byte JSON"
            )
            print(
                "versions: "
                + ", ".join(
                    f"{k} {v}"
                    for k, v in results.versions.items()
                    if k not in ("nginx", "restwell_source", "urllib3")
                )
                + f"; {os.cpu_count()} CPUs, load {load_before[0]:.2f}"
            )
            print(f"restwell measured: a copy of {results.versions['restwell_source']}")
            print(
                f"{rounds} round(s) of {len(pairs)} pairs; each run: fresh process, {warmup} "
                "warm-up requests, then the timed ones; all responses checked (200 + body "
                "length + nginx request count)\n",
                flush=True,
            )
            for round_index in range(rounds):
                for pair in _round_order(pairs, round_index):
                    for contender in _order(pair, round_index):
                        requests = max(50, int(contender.requests * scale))
                        run, _ = run_worker(
                            origin, snapshot, contender, requests, warmup, pair.concurrency
                        )
                        run.round = round_index
                        results.add(pair.key, contender.key, run)
                        print(
                            f"  round {round_index + 1}/{rounds} {pair.key:23} "
                            f"{contender.key:27} {_fmt_rate(run.rps):>6} req/s "
                            f"{run.cpu_us:5.0f} µs CPU/req",
                            flush=True,
                        )
    except (OriginError, WorkerFailed) as exc:
        print(f"\nbenchmark aborted: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: nginx stopped", file=sys.stderr)
        return 130

    load_after = os.getloadavg()
    summary = {p.key: summarize_pair(p, results) for p in pairs}
    print()
    for title, group in GROUPS:
        table = render(title, [p for p in group if p in pairs], summary, rounds)
        if table:
            print(table + "\n")
    print(
        "req/s, CPU µs/req: medians over rounds. ratio: median of per-round (with restwell "
        "req/s / bare req/s), min-max across rounds.\n+CPU µs/req: median per-round extra "
        "client CPU per request. CPU eff.: median per-round bare CPU/req / with-restwell "
        "CPU/req (0.80x: 25% more CPU).\nNo target is set (issue 3): these are the ratios. "
        f"Load average {load_before[0]:.2f} -> {load_after[0]:.2f}; "
        f"{time.monotonic() - clock0:.0f} s."
    )
    noisy = [
        key
        for key, row in summary.items()
        if row and row["ratio_max"] - row["ratio_min"] > 0.3 * row["ratio_median"]
    ]
    if noisy:
        print(
            f"NOTE: per-round ratios spread over more than 30% for {', '.join(noisy)}: the "
            "machine was busy; trust the CPU columns more, or re-run with more --rounds."
        )

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
            "pairs": summary,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"raw numbers written to {args.json}")
    return 0  # a measurement, not a test


if __name__ == "__main__":
    sys.exit(main())
