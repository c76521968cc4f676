"""Fuzz the REST API with schemathesis over its own /openapi.json: the long run.

    .venv/bin/python bench/fuzz.py [--examples 200] [--checks all] [--workers 2] [--seed N]

The central server runs for real (uvicorn on 127.0.0.1, a SQLite file in a temporary directory,
auth on) and schemathesis calls every operation with an admin token, ``--examples`` generated
cases each, checking every response against the schema (status codes, content types, bodies) and
for server errors. Prints the operations tried, the cases, the failures by check and the time;
exits 1 when any check failed. The main suite runs a short conformance pass of the same kind;
this is the long one, for before a release.

Needs schemathesis (``pip install schemathesis``; not a test dependency of the main suite).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

from api_bulk_insert import Server

from central.auth import Role

_CHECK_TITLE = re.compile(r"^- (ST\d+ [^\n]+)$", re.MULTILINE)


def run(examples: int, checks: str, workers: int, seed: int | None) -> int:
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if cli is None:
        print("schemathesis is not installed: pip install schemathesis", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="vru-fuzz-") as tmp, Server(Path(tmp)) as server:
        report = Path(tmp) / "junit.xml"
        command = [
            cli,
            "run",
            f"http://127.0.0.1:{server.port}/openapi.json",
            "--header",
            f"Authorization: Bearer {server.token(Role.ADMIN)}",
            "--max-examples",
            str(examples),
            "--checks",
            checks,
            "--workers",
            str(workers),
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
        ]
        if seed is not None:
            command += ["--seed", str(seed)]
        begin = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - begin
        if not report.exists():
            print(result.stdout[-5000:], result.stderr[-3000:], sep="\n", file=sys.stderr)
            return 2
        cases = ElementTree.parse(report).getroot().iter("testcase")
        operations, failed, where = 0, Counter[str](), Counter[str]()
        for case in cases:
            operations += 1
            for failure in case.iter("failure"):
                for check in _CHECK_TITLE.findall(failure.text or ""):
                    failed[check] += 1
                    where[f"{case.get('name')}: {check}"] += 1
    print(f"operations tried:   {operations}")
    print(f"examples each:      up to {examples}")
    print(
        f"elapsed:            {elapsed:.1f} s ({elapsed / max(operations, 1):.2f} s an operation)"
    )
    print(f"failed checks:      {sum(failed.values())}")
    for check, count in failed.most_common():
        print(f"  {count:4d}  {check}")
    if where:
        print("first operations at fault:")
        for operation, count in sorted(where.items())[:30]:
            print(f"  {count:4d}  {operation}")
    if result.returncode != 0 and not failed:
        print(result.stdout[-3000:])
    return 1 if result.returncode != 0 else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--checks", default="all")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    raise SystemExit(run(args.examples, args.checks, args.workers, args.seed))


if __name__ == "__main__":
    main()
