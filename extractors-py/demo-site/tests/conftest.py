"""pytest setup: import `demo_site` and the SDK from this checkout (a plugin in its own
repository would `pip install` the SDK instead), and run from the plugin's root so fixture
paths are relative to it, as `cargo test` does for the Rust crate."""

import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parents[1] / "extractor-sdk-py"))


@pytest.fixture(autouse=True)
def _plugin_root(monkeypatch):
    monkeypatch.chdir(ROOT)
