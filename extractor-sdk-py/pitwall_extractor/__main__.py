"""``python -m pitwall_extractor``: build a Python extractor into a pitwall plugin component.

    python -m pitwall_extractor build my_site [-o my_site.wasm] [-p DIR ...]
    python -m pitwall_extractor wit        # where the SDK's copy of the WIT lives

``build`` runs ``componentize-py`` (installed next to this SDK) against the SDK's WIT
(``pitwall:extractor@0.1.0``, world ``extractor``) with ``--stub-wasi``: the component imports
nothing but the host's ``fetch``/``log``/``now``, no WASI clocks, files or sockets. ``MODULE``
must end with ``WitWorld = export(MyExtractor)``; the current directory and each ``-p DIR`` are
searched for it and its imports (plus the active venv's site-packages, where this SDK is).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys

WIT = pathlib.Path(__file__).resolve().parent / "wit"


def componentize_command(module: str, output: str, paths: list[str]) -> list[str]:
    """The componentize-py command line that builds ``module`` into ``output``."""
    exe = shutil.which("componentize-py", path=os.path.dirname(sys.executable)) or shutil.which("componentize-py")
    if exe is None:
        raise SystemExit("componentize-py not found: pip install componentize-py==0.25.1")
    cmd = [exe, "-q", "-d", str(WIT), "-w", "extractor", "componentize", "--stub-wasi"]
    for p in paths or ["."]:
        cmd += ["-p", p]
    return cmd + [module, "-o", output]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pitwall_extractor")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build MODULE into a pitwall plugin component")
    build.add_argument("module", help="the Python module ending with `WitWorld = export(...)`")
    build.add_argument("-o", "--output", help="the .wasm to write (default: MODULE.wasm)")
    build.add_argument("-p", "--path", action="append", default=[], help="a directory to import from")
    sub.add_parser("wit", help="print the directory of the SDK's WIT")
    args = parser.parse_args(argv)
    if args.command == "wit":
        print(WIT)
        return 0
    output = args.output or f"{args.module}.wasm"
    env = dict(os.environ)
    # componentize-py adds the venv's site-packages (where this SDK is installed) to its path.
    env.setdefault("VIRTUAL_ENV", sys.prefix)
    return subprocess.call(componentize_command(args.module, output, args.path), env=env)


if __name__ == "__main__":
    sys.exit(main())
