"""The one place macro-bench touches lm-eval (pinned: lm-eval==0.4.13).

Every import of ``lm_eval`` and every use of its internals lives in this package
(``tests/test_architecture.py`` fails on one anywhere else in ``macro_bench``); the
internals are checked against the installed lm-eval when they are first used, with
an error that names the pin, so a changed lm-eval fails before generation is paid for.

* :mod:`.hook`: the start-up hook ``macro_bench_hook.pth`` imports in every Python
  process; it waits for lm-eval's task manager and evaluator to be imported and then
  applies :mod:`.patches` (our tasks join every ``TaskManager``'s ``include_path``;
  ``simple_evaluate`` checks the run before the model loads);
* :mod:`.second_pass_filter`: the second pass as the tasks' lm-eval filter, and its
  scorer, which makes the second pass's model calls through lm-eval;
* :mod:`.bridge`: what the second pass takes from the running evaluation (the live
  model and task, request building, the model registry, HFLM's batching);
* :mod:`.data_parallel`: the model calls every data-parallel rank makes together,
  through ``--use_cache``'s ``CachingLM``;
* :mod:`.prefix_scoring`: lm-eval's ``loglikelihood`` with one forward pass per context;
* :mod:`.task_index`: what a name stands for in a ``TaskManager``'s index (tag, group, task);
* :mod:`.model_args`: lm-eval's parser for ``--model_args`` strings.

Kept import-free: the start-up hook imports this package in every Python process.
"""
