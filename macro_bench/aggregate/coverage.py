"""Which documents each model was scored on in one dataset, and the set all models share.

Models are compared only on documents every one of them was scored on (per language,
by ``doc_key``); a language some model lacks is left out entirely. The coverage table
keeps what each model had and what was used, so nothing disappears unlisted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class Coverage:
    shared: pd.DataFrame  # the documents used: rows of every model on shared (language, doc_key)
    table: pd.DataFrame  # model, language, documents_scored, documents_used
    languages_left_out: pd.DataFrame  # language, models_without (languages no shared document survives in)

    @property
    def complete(self) -> bool:
        return bool((self.table["documents_scored"] == self.table["documents_used"]).all())


def shared_coverage(documents: pd.DataFrame, models: list[str]) -> Coverage:
    keys = documents[["language", "doc_key"]]
    models_per_key = documents.groupby(["language", "doc_key"], sort=False)["model"].transform("size")
    # Loading keeps one row per (model, language, doc_key), so a count equal to the
    # number of models means every model has the document.
    shared = documents.loc[models_per_key.to_numpy() == len(models)].reset_index(drop=True)
    scored = documents.groupby(["model", "language"]).size().rename("documents_scored")
    used = shared.groupby(["model", "language"]).size().rename("documents_used")
    grid = pd.MultiIndex.from_product(
        [models, sorted(keys["language"].unique())], names=["model", "language"]
    )
    table = (
        pd.concat([scored, used], axis=1)
        .reindex(grid)
        .fillna(0)
        .astype("int64")
        .reset_index()
    )
    table["documents_left_out"] = table["documents_scored"] - table["documents_used"]
    lost = table.groupby("language")["documents_used"].sum() == 0
    left_out = []
    for language in lost[lost].index:
        rows = table[table["language"] == language]
        without = rows.loc[rows["documents_scored"] == 0, "model"].tolist()
        left_out.append({"language": language, "models_without": ", ".join(without) or "(no document scored by all)"})
    return Coverage(shared, table, pd.DataFrame(left_out, columns=["language", "models_without"]))
