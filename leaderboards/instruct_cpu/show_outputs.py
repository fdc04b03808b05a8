"""Print a run's outputs for reading by eye: x, x', the gates that fired, valid.

    python leaderboards/instruct_cpu/show_outputs.py SAMPLES_FILE [N]        the first N documents (default 20)
    python leaderboards/instruct_cpu/show_outputs.py SAMPLES_FILE --valid    every valid counterfactual

SAMPLES_FILE is lm-eval's ``samples_<task>_*.jsonl`` of a macro-bench run; documents are in
the board's document order. The gates are re-judged from each record with the installed
macro-bench (:func:`macro_bench.metrics.document.gate_flags`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from macro_bench.metrics.document import gate_flags
from macro_bench.record import Record


def main(path: Path, first: int | None) -> None:
    with path.open(encoding="utf-8") as handle:
        records = [Record.from_json(json.loads(line)["filtered_resps"][0]) for line in handle]
    valid = 0
    for index, record in enumerate(records):
        flags = gate_flags(record)
        valid += bool(flags["valid"])
        if (first is not None and index >= first) or (first is None and not flags["valid"]):
            continue
        fired = ", ".join(name for name, value in flags.items() if value and name != "valid")
        print(f"doc {record.doc_key}: y={record.prediction_original} t={record.target_label} "
              f"valid={bool(flags['valid'])} fired: {fired or 'none'}")
        for name, value in (("premise", next(iter(record.context.values()), None)), ("x", record.original),
                            ("x'", record.counterfactual)):
            if value is not None:
                print(f"  {name:>7}: {value!r}")
    print(f"{valid} of {len(records)} valid")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if not arguments or len(arguments) > 2:
        sys.exit(__doc__)
    main(Path(arguments[0]), None if arguments[1:] == ["--valid"] else int((arguments[1:] or ["20"])[0]))
