"""`python -m bench [suite ...] [--quick]`: every suite in one run, tables on stdout."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from bench._batch import scale_suite
from bench._network import batch_suite, client_suite, emulator_suite
from bench._parse import growth_suite, images_suite, import_suite, memory_suite, parse_suite
from bench._stream import stream_suite

SUITES = {
    "parse": parse_suite,
    "images": images_suite,
    "memory": memory_suite,
    "import": import_suite,
    "growth": growth_suite,
    "stream": stream_suite,
    "emulator": emulator_suite,
    "client": client_suite,
    "batch": batch_suite,
    "scale": scale_suite,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suites", nargs="*", choices=[*SUITES, []], help="default: all")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke run")
    args = parser.parse_args()
    names = args.suites or list(SUITES)
    print(
        f"# openrouter-imagegen benchmarks — Python {platform.python_version()}, {platform.machine()}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}\n"
    )
    records = []
    for name in names:
        table = SUITES[name](args.quick)
        print(table.render(), flush=True)
        records.append(table.record())
    out = Path(__file__).parent / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(records, indent=2, default=str))
    failed = [row["case"] for record in records for row in record["rows"] if row["ok"] is False]
    print(f"results: {out}; targets missed: {', '.join(failed) if failed else 'none'}")
    sys.exit(0)


if __name__ == "__main__":
    main()
