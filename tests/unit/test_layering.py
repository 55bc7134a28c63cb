"""The policy core imports only the standard library and reads no clock or global randomness."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import restwell.policy

POLICY = Path(restwell.policy.__file__).parent
# Standard-library modules that would let the core do I/O or read time on its own.
FORBIDDEN_STDLIB = {"asyncio", "socket", "selectors", "subprocess", "time", "ssl", "http.client"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_policy_modules_import_only_stdlib_and_themselves() -> None:
    files = sorted(POLICY.rglob("*.py"))
    assert len(files) >= 8
    for path in files:
        for name in _imports(path):
            top = name.split(".")[0]
            assert name.startswith("restwell.policy") or top in sys.stdlib_module_names, (
                f"{path.name} imports {name}"
            )
            assert top not in FORBIDDEN_STDLIB, f"{path.name} imports {name}: I/O or a clock"
            assert name not in FORBIDDEN_STDLIB, f"{path.name} imports {name}: I/O or a clock"


def test_policy_calls_no_global_clock_or_random() -> None:
    for path in sorted(POLICY.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for banned in ("time.time(", "time.monotonic(", "datetime.now(", "random.random("):
            assert banned not in text, f"{path.name} calls {banned}"
