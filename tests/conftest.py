"""Shared test fixtures.

Real benchmark files live in ../shared/data (seen from the repository root). They are not on
a user's machine, so tests that need them take the `shared_data` fixture (which also marks
them `realdata`) and run only with XSTILTS_REALDATA=1; with that variable set, a missing
folder is a failure, never a silent skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REALDATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REALDATA_ENV = "XSTILTS_REALDATA"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if {"shared_data", "long_run"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.realdata)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real benchmark files (xquad/, udpos/, tatoeba/)."""
    if os.environ.get(REALDATA_ENV) != "1":
        pytest.skip(f"real-data test: set {REALDATA_ENV}=1 to run (needs {REALDATA_DIR})")
    if not REALDATA_DIR.is_dir():
        pytest.fail(f"{REALDATA_ENV}=1 but {REALDATA_DIR} does not exist")
    return REALDATA_DIR


@pytest.fixture(scope="session")
def long_run() -> None:
    """Minutes-long end-to-end runs (the real `xstilts demo`): with XSTILTS_REALDATA=1, as CI."""
    if os.environ.get(REALDATA_ENV) != "1":
        pytest.skip(f"long run: set {REALDATA_ENV}=1 to run (CI does)")


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory) -> Path:
    """Built encoders go to a per-session cache, never the user's ~/.cache."""
    folder = Path(os.environ.get("XSTILTS_TEST_CACHE") or tmp_path_factory.mktemp("cache"))
    old = os.environ.get("XSTILTS_CACHE")
    os.environ["XSTILTS_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("XSTILTS_CACHE", None)
    else:
        os.environ["XSTILTS_CACHE"] = old


@pytest.fixture(scope="session")
def hub_mirror(tmp_path_factory) -> Path:
    """A local copy of the hub: small replicas, in the hub's own layout, of every hub dataset
    the built-in tasks read (tests/hub_replicas.py), built once per session. Returns the root:
    point `data: {hub_mirror: ROOT}` (or $XSTILTS_HUB_MIRROR, see `hub_mirror_env`) at it."""
    from tests.hub_replicas import build_hub_mirror, reading_replicas

    root = build_hub_mirror(tmp_path_factory.mktemp("hub_mirror"))
    with reading_replicas(root, tmp_path_factory.mktemp("hf_datasets_cache")):
        yield root


@pytest.fixture
def hub_mirror_env(hub_mirror, monkeypatch) -> Path:
    """`hub_mirror`, set as $XSTILTS_HUB_MIRROR for one test (hub tasks then read it)."""
    monkeypatch.setenv("XSTILTS_HUB_MIRROR", str(hub_mirror))
    return hub_mirror
