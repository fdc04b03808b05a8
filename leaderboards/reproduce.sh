#!/usr/bin/env bash
# Rebuilds the reports of every committed leaderboard from its committed runs.
#   bash leaderboards/reproduce.sh [BOARD...]      (default: every leaderboards/*/ with a leaderboard.args)
#
# A board is a folder leaderboards/<BOARD>/ holding:
#   runs/             lm-eval's own output (--output_path ... --log_samples): results_*.json, samples_*.jsonl
#   leaderboard.args  the arguments of `macro-bench leaderboard` after the runs folder, one per line
#                     (no --out: the board folder is the output); lines starting with # are comments
#   compare.args      optional: the arguments of `macro-bench compare` (RUN_A, RUN_B, options), one per
#                     line, paths relative to the repository root; written to <BOARD>/compare/
#   run.sh            optional: makes the runs (lm_eval commands, hours of model time); this script
#                     never starts it, so rebuilding reports never runs a model, also while a board's
#                     runs are still being made (its reports then cover the runs committed so far)
# macro_bench/aggregate/board.py reads the argument files and runs the macro-bench commands;
# tests/test_committed_leaderboard.py runs the same commands and checks the result equals the
# committed reports.
set -euo pipefail
cd "$(dirname "$0")/.."

boards=("$@")
if [ ${#boards[@]} -eq 0 ]; then
  mapfile -t boards < <(python -m macro_bench.aggregate.board list)
fi
if [ ${#boards[@]} -eq 0 ]; then
  echo "no leaderboards/<BOARD>/leaderboard.args: nothing to rebuild"
  exit 0
fi

for board in "${boards[@]}"; do
  python -m macro_bench.aggregate.board rebuild "leaderboards/$board"
done
