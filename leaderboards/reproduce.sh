#!/usr/bin/env bash
# Rebuilds the reports of every committed leaderboard from its committed runs.
#   bash leaderboards/reproduce.sh [BOARD...]      (default: every leaderboards/*/ with a runs/ folder)
#
# A board is a folder leaderboards/<BOARD>/ holding:
#   runs/             lm-eval's own output (--output_path ... --log_samples): results_*.json, samples_*.jsonl
#   leaderboard.args  the arguments of `macro-bench leaderboard` after the runs folder, one per line
#                     (no --out: the board folder is the output); lines starting with # are comments
#   compare.args      optional: the arguments of `macro-bench compare` (RUN_A, RUN_B, options), one per
#                     line, paths relative to the repository root; written to <BOARD>/compare/
#   run.sh            optional: makes the runs (lm_eval commands); it is run first and should skip
#                     runs already under runs/, so on a checkout only the reports are rebuilt
# tests/test_committed_leaderboard.py rebuilds every board with these same argument files and checks
# the result equals the committed reports.
set -euo pipefail
cd "$(dirname "$0")/.."

arguments() {  # arguments FILE: its non-comment, non-empty lines
  grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$1" || true
}

boards=("$@")
if [ ${#boards[@]} -eq 0 ]; then
  for folder in leaderboards/*/; do
    [ -d "$folder/runs" ] && boards+=("$(basename "$folder")")
  done
fi
if [ ${#boards[@]} -eq 0 ]; then
  echo "no leaderboards/<BOARD>/runs/ folder: nothing to rebuild"
  exit 0
fi

for board in "${boards[@]}"; do
  folder="leaderboards/$board"
  if [ -x "$folder/run.sh" ]; then
    "$folder/run.sh"
  fi
  mapfile -t options < <(arguments "$folder/leaderboard.args")
  macro-bench leaderboard "$folder/runs" --out "$folder" "${options[@]}"
  if [ -f "$folder/compare.args" ]; then
    mapfile -t options < <(arguments "$folder/compare.args")
    macro-bench compare "${options[@]}" --out "$folder/compare"
  fi
done
