"""Instructions per cache miss, counted by valgrind: the miss overhead without the machine's noise.

Wall-clock miss figures (``cache.py``) swing by tens of points on a shared 2-core machine; an
instruction count does not. For each contender this runs ``cache_worker.py --mode miss`` under
``valgrind --tool=callgrind`` twice, with ``--small`` and ``--large`` timed requests, and
reports ``(count(large) - count(small)) / (large - small)``: the instructions one more miss
costs, start-up and warm-up cancelled out. Each cached contender is then compared with the
uncached client of the same kind, against the 10 % target of ``cache.py``::

    flock /tmp/restwell-bench.lock python benchmarks/cache_instructions.py
    python benchmarks/cache_instructions.py --contender restwell-memory-sync --small 200

Needs valgrind (``apt-get install valgrind``). Slow: each run is 50-100x slower than native,
so a full run takes a few minutes. Same private nginx origin as ``cache.py``; nothing else is
contacted. ``PYTHONHASHSEED=0`` keeps hashing, and so dict layouts, the same from run to run;
garbage collections still land a little differently, so figures move by a few thousand.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER = HERE / "cache_worker.py"

from _origin import reexec_in_repo_venv  # noqa: E402

reexec_in_repo_venv()

from _origin import BODY, Nginx, OriginError, ensure_nginx  # noqa: E402

# Each cached contender and the uncached client it is compared with.
PAIRS = {
    "restwell-memory-sync": "restwell-uncached-sync",
    "restwell-sqlite-sync": "restwell-uncached-sync",
    "restwell-memory-async": "restwell-uncached-async",
    "restwell-sqlite-async": "restwell-uncached-async",
}
TARGET = 0.10
_COLLECTED = re.compile(r"Collected : (\d+)")


class CountFailed(RuntimeError):
    """valgrind or the worker failed: no count."""


def count(valgrind: str, contender: str, url: str, requests: int, workdir: Path) -> int:
    """Instructions executed by one worker run of ``requests`` timed misses."""
    out = workdir / f"{contender}.{requests}.callgrind"
    command = [
        valgrind,
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(WORKER),
        contender,
        "--mode",
        "miss",
        "--url",
        url,
        "--body-length",
        str(len(BODY)),
        "--requests",
        str(requests),
        "--warmup",
        "50",
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise CountFailed(f"{contender} ({requests} requests) failed: {tail}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--contender",
        action="append",
        choices=sorted(PAIRS),
        help="a cached contender to measure (repeatable; default: all four)",
    )
    parser.add_argument("--small", type=int, default=300, help="timed misses of the first run")
    parser.add_argument("--large", type=int, default=900, help="timed misses of the second run")
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs at once (default 2)")
    args = parser.parse_args(argv)
    if not 0 < args.small < args.large:
        parser.error("need 0 < --small < --large")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind not found: install it (apt-get install valgrind)", file=sys.stderr)
        return 2
    cached = args.contender or sorted(PAIRS)
    contenders = sorted({*cached, *(PAIRS[c] for c in cached)})
    try:
        with (
            tempfile.TemporaryDirectory(prefix="restwell-callgrind-") as tmp,
            Nginx(ensure_nginx()) as origin,
            ThreadPoolExecutor(args.jobs) as pool,
        ):
            print(f"origin {origin.url}; {args.small} and {args.large} timed misses per contender")
            futures = {
                (c, n): pool.submit(count, valgrind, c, origin.url, n, Path(tmp))
                for c in contenders
                for n in (args.small, args.large)
            }
            per_miss = {
                c: (futures[c, args.large].result() - futures[c, args.small].result())
                / (args.large - args.small)
                for c in contenders
            }
    except (OriginError, CountFailed) as exc:
        print(f"measurement aborted: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: nginx stopped", file=sys.stderr)
        return 130
    print(f"\n{'contender':26} {'instructions/miss':>18} {'vs uncached':>12} {'allowed':>9}")
    for contender in contenders:
        line = f"{contender:26} {per_miss[contender]:18,.0f}"
        peer = PAIRS.get(contender)
        if peer is not None:
            extra = per_miss[contender] - per_miss[peer]
            allowed = TARGET * per_miss[peer]
            verdict = "PASS" if extra <= allowed else "FAIL"
            line += f" {extra:+12,.0f} {allowed:+9,.0f}  {extra / per_miss[peer]:+.1%} {verdict}"
        print(line)
    print(f"\nallowed: {TARGET:.0%} of the uncached client's instructions per miss (as cache.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
