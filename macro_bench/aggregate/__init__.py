"""Leaderboards and paired comparisons from lm-eval output folders.

One concept per module, in pipeline order: ``loading`` reads results and samples files
into a per-document table (``problems`` collects what was wrong with them);
``model_family`` names each model's family; ``coverage`` restricts models to the
documents they share; ``panel`` and ``bootstrap`` turn documents into per-language means
with bootstrap replicates; ``hierarchy`` averages languages into families and models
into model families; ``summary`` reads off values and intervals; ``leaderboard`` and
``compare`` assemble the tables; ``render_markdown``, ``render_data`` (CSV, JSON) and
``render_html`` (with ``svg`` plots) write them; ``pipeline`` runs it all for the CLI;
``board`` reads a committed leaderboard folder's argument files and rebuilds its reports.
"""
