#!/usr/bin/env bash
# The setting of "Parallel Universes, Parallel Languages" (Wang et al., ACL 2026, arXiv
# 2601.00263) under macro-bench's protocol 2, on a GPU: one instruct model, SIB-200 and XNLI,
# their six languages (en ar de es hi sw), every document, chat template, greedy decoding;
# then the leaderboard of the run. leaderboards/README.md (its paper-setting section) puts the published
# label-flip rates beside the cells this fills, and lists how the two protocols differ.
#
#   bash leaderboards/paper_setting.sh [--dry-run] [--vllm] [--model-args ARGS]
#        [--sib200-dir DIR] [--xnli-dir DIR] MODEL [OUTPUT_DIR]
#
# MODEL: a hub id or a local folder, e.g. Qwen/Qwen2.5-7B-Instruct (the paper's smallest
# model), google/gemma-3-27b-it, meta-llama/Llama-3.3-70B-Instruct.
# OUTPUT_DIR (default runs/paper_setting/<MODEL's last part>) receives runs/ (lm-eval's
# results and samples), cache/ (the --use_cache database: rerun the same command to resume
# an interrupted run) and leaderboard/.
#
# Documents: all of them, no --limit. SIB-200 test split: 204 per language (1,224 in all).
# XNLI validation split: 2,490 pairs per language (14,940 in all), the XTREME dev files. The
# paper's published rates are consistent with exactly these sizes (every SIB-200 rate is a
# multiple of 1/204, and 2,490 is the smallest count consistent with each XNLI row:
# python leaderboards/paper_sample_sizes.py), so nothing is subsampled.
#
# Expected time (an estimate from arithmetic, not a measurement: this script has not been run
# on a GPU). Each of the 16,164 documents costs one greedy generation (up to 256 tokens, the
# default) and about 24 scored contexts: x, x', 10 + 10 held-out deletions and 2 rolling
# fluency texts when the counterfactual is valid (2 when it is not). At about 150 tokens per
# chat-templated row that is at most 16,164 x 24 x 150 = 58M tokens forward; a 7.6B model
# spends about 2 x 7.6e9 FLOPs per token, 8.8e17 FLOPs in all, which is 1.2 h at a sustained
# 200 TFLOP/s (2.4 h at 100). Generation adds about 16,164 / 64 batches x 256 steps x ~25 ms
# = 0.5 h in the worst case (every answer 256 tokens long). So Qwen2.5-7B-Instruct in
# bfloat16 on one 80 GB GPU: roughly 1.5-3 hours, 92% of it XNLI. Gemma3-27B about 3.5x
# that; Llama-3.3-70B (140 GB of bfloat16 weights) needs two 80 GB GPUs or more
# (--model-args parallelize=True, or --vllm --model-args tensor_parallel_size=2) and about
# 10x the time.
#
# Data: from the Hugging Face hub (Davlan/sib200, facebook/xnli) unless --sib200-dir DIR
# (DIR/<lang_Script>/test.tsv) and --xnli-dir DIR (DIR/dev-<lang>.tsv) name local copies.
# --vllm runs lm-eval's vLLM backend (pip install vllm): macro-bench's second pass then
# scores through lm-eval's own request path; no run of macro-bench has exercised it yet.
# --dry-run prints the commands, one per line and shell-quoted, and runs nothing.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bash leaderboards/paper_setting.sh [--dry-run] [--vllm] [--model-args ARGS]
           [--sib200-dir DIR] [--xnli-dir DIR] MODEL [OUTPUT_DIR]
  MODEL             an instruct model: hub id or local folder (e.g. Qwen/Qwen2.5-7B-Instruct)
  OUTPUT_DIR        receives runs/, cache/ and leaderboard/ (default runs/paper_setting/<MODEL's last part>)
  --dry-run         print the commands, shell-quoted, one per line; run nothing
  --vllm            lm-eval's vLLM backend instead of hf
  --model-args ARGS appended to pretrained=MODEL,dtype=bfloat16 (e.g. parallelize=True)
  --sib200-dir DIR  local SIB-200 (DIR/<lang_Script>/test.tsv) instead of the hub
  --xnli-dir DIR    local XNLI (DIR/dev-<lang>.tsv) instead of the hub
EOF
}

die() {
  echo "paper_setting.sh: $1" >&2
  usage >&2
  exit 2
}

dry_run=false
backend=hf
extra_model_args=""
metadata=()
positional=()
while (($#)); do
  case $1 in
    --dry-run) dry_run=true ;;
    --vllm) backend=vllm ;;
    --model-args) (($# > 1)) || die "--model-args needs a value (e.g. parallelize=True)"; extra_model_args=$2; shift ;;
    --sib200-dir | --xnli-dir)
      (($# > 1)) || die "$1 needs a folder"
      # The folder goes into a JSON string as it is: a quote or a backslash would break it.
      [[ $2 != *[\"\\]* ]] || die "$1 $2: the folder name has a quote or a backslash; give a path without them"
      metadata+=("\"${1#--}\": \"$2\"")
      metadata[-1]=${metadata[-1]/-dir/_dir}
      shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) positional+=("$1") ;;
  esac
  shift
done
((${#positional[@]} >= 1)) || die "MODEL is missing (e.g. Qwen/Qwen2.5-7B-Instruct)"
((${#positional[@]} <= 2)) || die "too many arguments: ${positional[*]}"

model=${positional[0]}
shown=${model%/}
shown=${shown##*/}
out=${positional[1]:-runs/paper_setting/$shown}

# The paper's six languages as macro-bench's lang_Script codes.
languages=(eng_Latn arb_Arab deu_Latn spa_Latn hin_Deva swh_Latn)
tasks=()
for dataset in sib200 xnli; do
  for language in "${languages[@]}"; do tasks+=("macro_${dataset}_${language}"); done
done

model_args="pretrained=$model,dtype=bfloat16${extra_model_args:+,$extra_model_args}"
evaluate=(lm_eval --model "$backend" --model_args "$model_args" --apply_chat_template
  --tasks "$(IFS=,; echo "${tasks[*]}")" --batch_size auto --device cuda
  --output_path "$out/runs" --log_samples --use_cache "$out/cache/lm_eval")
if ((${#metadata[@]})); then
  evaluate+=(--metadata "{$(IFS=,; echo "${metadata[*]}")}")
fi
# lm-eval records a local model by its path; show it by its last part in the tables.
report=(macro-bench leaderboard "$out/runs" --out "$out/leaderboard" --model-name "$model=$shown")

if $dry_run; then
  printf '%q ' "${evaluate[@]}"; echo
  printf '%q ' "${report[@]}"; echo
  exit 0
fi
mkdir -p "$out/cache"
"${evaluate[@]}"
"${report[@]}"
