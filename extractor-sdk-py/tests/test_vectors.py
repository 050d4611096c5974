"""The shared finder vectors (`extractor-sdk/vectors/find.json`, also run by the Rust and
JavaScript SDKs): the Python finders find what the Rust ones find."""

import json
import pathlib

import pytest

from pitwall_extractor import codec, find

VECTORS = pathlib.Path(__file__).resolve().parents[2] / "extractor-sdk" / "vectors" / "find.json"
CODEC = {"base64_decode_str", "reverse"}


def load():
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert vectors, f"no vectors in {VECTORS}"
    return vectors


@pytest.mark.parametrize(
    "vector", load(), ids=lambda v: f"{v['fn']}:{v.get('note', '')[:40]}"
)
def test_vector(vector):
    module = codec if vector["fn"] in CODEC else find
    function = getattr(module, vector["fn"], None)
    assert function is not None, f"the Python SDK has no finder `{vector['fn']}`"
    got = function(*vector["args"])
    assert got == vector["expect"], vector.get("note", "")


def test_every_finder_name_is_known():
    names = {v["fn"] for v in load()}
    missing = [n for n in names if not hasattr(codec if n in CODEC else find, n)]
    assert not missing, missing
