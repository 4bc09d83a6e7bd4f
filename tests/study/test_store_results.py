"""The study store's results table shows what the latest plan of each study produced."""

from __future__ import annotations

from xstilts.study.store import Store


def row(study: str, run_id: str, lang: str, value: float) -> tuple:
    return (study, run_id, "a", 1, 1, 0, 0, "nli", lang, "accuracy", value, f"job-{run_id}")


def test_a_study_rewritten_drops_its_rows_the_new_plan_lacks(tmp_path):
    store = Store(tmp_path)
    store.write_results([row("s", "arm1", "de", 1.0), row("s", "arm2", "de", 2.0),
                         row("other", "arm1", "de", 9.0)])
    # The spec changed: arm2 is gone and arm1's value is new; study "other" is untouched.
    store.write_results([row("s", "arm1", "de", 3.0)], study="s")
    got = {(r["study"], r["run_id"], r["value"]) for r in store.results()}
    assert got == {("s", "arm1", 3.0), ("other", "arm1", 9.0)}
    # Without a study name: an upsert (the same rows again are not duplicated).
    store.write_results([row("s", "arm1", "de", 3.0), row("s", "arm1", "fr", 4.0)])
    store.write_results([row("s", "arm1", "de", 3.0)])
    assert len(store.results("s")) == 2 and len(store.results()) == 3
