"""pytest setup for the SDK's own tests: import `pitwall_extractor` from this checkout."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
