"""Static checks of pitwall's deployment infrastructure (infra/ and .woodpecker.yml).

Run with `bash infra/tests/run.sh`, which installs the pinned tools into a venv. Nothing here
needs a cluster, Docker, Terraform or the network: the files are parsed and cross-checked
against each other and against the project README (flags, configuration keys, routes).
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

# Kubernetes version the manifests are validated against (kubernetes-validate's schemas).
K8S_VERSION = "1.30"
NAMESPACE = "pitwall"
CLUSTER_SCOPED = {"Namespace", "PersistentVolume"}
# Paths and port of the image (infra/Dockerfile) that everything else relies on.
PORT = 8080
PLUGINS_PATH = "/plugins"
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
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), words[0])
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append({"base": base, "alias": alias, "instructions": []})
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
    assert used <= set(providers), f"providers used but not required: {used - set(providers)}"


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
    for name in ["viewer_token", "admin_token", "relay_key", "external_redis_url"]:
        assert variables[name].get("sensitive") is True, f"variable {name} must be sensitive"
    assert "default" not in variables["viewer_token"], "viewer_token must be required"


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


def test_k8s_plugins_volume_is_read_only_nfs_claim():
    deployment = k8s_pitwall_deployment()
    container = k8s_container(deployment)
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    mount = mounts[PLUGINS_PATH]
    assert mount.get("readOnly") is True, "plugins must be mounted read-only"
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    claim = volumes[mount["name"]]["persistentVolumeClaim"]
    assert claim.get("readOnly") is True
    pvc = k8s_objects("PersistentVolumeClaim", claim["claimName"])
    assert len(pvc) == 1, f"no PersistentVolumeClaim {claim['claimName']} in infra/k8s"
    assert pvc[0]["spec"]["accessModes"] == ["ReadWriteMany"]
    pv = k8s_objects("PersistentVolume", pvc[0]["spec"]["volumeName"])
    assert len(pv) == 1 and "nfs" in pv[0]["spec"], "the claim must bind the NFS PersistentVolume"
    assert pv[0]["spec"]["storageClassName"] == pvc[0]["spec"]["storageClassName"] != ""


def test_k8s_cache_and_data_are_local_emptydirs():
    deployment = k8s_pitwall_deployment()
    container = k8s_container(deployment)
    env = {e["name"]: e for e in container["env"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    for var in ["PITWALL_CACHE_DIR", "PITWALL_DATA_DIR"]:
        path = env[var]["value"]
        assert "emptyDir" in volumes[mounts[path]], f"{var}={path} must be an emptyDir (local disk)"


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


def test_tf_plugins_volume_is_read_only():
    mounts = {evaluate(m["mount_path"]): m for m in tf_container()["volume_mount"]}
    mount = mounts[PLUGINS_PATH]
    assert mount.get("read_only") is True
    volumes = {unquote(v["name"]): v for v in tf_pod_spec()["volume"]}
    claim = volumes[unquote(mount["name"])]["persistent_volume_claim"][0]
    assert claim.get("read_only") is True
    assert "kubernetes_persistent_volume_claim_v1.plugins" in claim["claim_name"]
    pvc = module_resources()["kubernetes_persistent_volume_claim_v1.plugins"]
    assert plain(pvc["spec"][0]["access_modes"]) == ["ReadWriteMany"]
    pv = module_resources()["kubernetes_persistent_volume_v1.plugins"]
    assert "nfs" in pv["spec"][0]["persistent_volume_source"][0]


def test_tf_cache_and_data_are_local_emptydirs():
    container = tf_container()
    env = {unquote(e["name"]): e.get("value") for e in container["env"]}
    mounts = {evaluate(m["mount_path"]): unquote(m["name"]) for m in container["volume_mount"]}
    volumes = {unquote(v["name"]): v for v in tf_pod_spec()["volume"]}
    for var in ["PITWALL_CACHE_DIR", "PITWALL_DATA_DIR"]:
        path = evaluate(env[var])
        assert "empty_dir" in volumes[mounts[path]], f"{var}={path} must be an emptyDir (local disk)"


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
    assert pv["spec"]["storageClassName"] == defaults["plugins_storage_class"]
    assert pv["spec"]["mountOptions"] == defaults["nfs_mount_options"]
    assert pv["metadata"]["name"] == f"{defaults['namespace']}-{defaults['name']}-plugins"
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


@pytest.mark.parametrize("item", K8S_DOCS, ids=doc_id)
def test_k8s_manifest_validates(item):
    path, doc = item
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        pytest.fail(f"{rel(path)}: {doc['kind']}/{doc['metadata']['name']}: {e.message} at {list(e.path)}")


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
        for c in pod["containers"]:
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, c["name"]
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"], c["name"]


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
    for secret in ["viewer_token", "admin_token", "relay_key"]:
        assert secret not in inputs, f"{secret} must not be written in terragrunt.hcl"


def test_terragrunt_root_generates_backend_and_provider():
    root = load_hcl(TERRAGRUNT / "root.hcl")
    state = plain(root["remote_state"][0])
    assert "local" in json.dumps(root["locals"]), "the default backend is local"
    assert state["generate"]["path"] == "backend.tf"
    provider = plain(root["generate"][0])["provider"]
    assert provider["path"] == "provider.tf"
    assert 'provider "kubernetes"' in provider["contents"] and "config_context" in provider["contents"]


# --- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_stages():
    stages = dockerfile_stages()
    bases = [s["base"] for s in stages]
    assert bases[0].startswith("rust:1.95-bookworm"), bases
    assert any(b.startswith("node:20-bookworm") for b in bases), bases
    assert bases[-1] == "debian:bookworm-slim", bases
    rust = "\n".join(rest for ins, rest in stages[0]["instructions"] if ins == "RUN")
    assert "rustup target add wasm32-wasip2" in rust
    assert "cargo build --locked --release -p pitwall" in rust
    assert "--target wasm32-wasip2" in rust
    assert "type=cache" in rust, "cargo should use cache mounts"
    web = next(s for s in stages if s["base"].startswith("node:"))
    web_runs = " ".join(rest for ins, rest in web["instructions"] if ins == "RUN")
    assert "npm ci" in web_runs and "npm run build" in web_runs


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
    sources = [DOCKERFILE, WOODPECKER, *files(MODULE, "*.tf"), *files(K8S, "*.yaml")]
    for path in sources:
        for name in set(re.findall(r"\bPITWALL_[A-Z_]+\b", path.read_text())):
            assert name in known, f"{rel(path)}: {name} is not a pitwall flag in README"


def test_dockerignore_keeps_what_the_build_copies():
    ignore = INFRA / "Dockerfile.dockerignore"
    patterns = [line.strip() for line in ignore.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    needed = ["Cargo.toml", "Cargo.lock", "host/src/main.rs", "wit", "extractors/direct/Cargo.toml",
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
    assert ci["image"].startswith("rust:1.95-bookworm")
    assert ci["commands"][-1] == "bash .ci/run"


def test_woodpecker_image_and_deploy_only_on_main():
    steps = woodpecker_steps()
    image, deploy = steps["image"], steps["deploy"]
    assert image["image"].startswith("woodpeckerci/plugin-docker-buildx")
    assert image["settings"]["dockerfile"] == "infra/Dockerfile"
    assert image["settings"]["context"] == "."
    assert "from_secret" in image["settings"]["repo"]
    assert "${CI_COMMIT_SHA}" in image["settings"]["tags"]
    for step in (image, deploy):
        assert step["when"] == [{"event": "push", "branch": "main"}]
    commands = "\n".join(deploy["commands"])
    assert "cd infra/terragrunt/prod && terragrunt apply -auto-approve" in commands
    assert "${CI_COMMIT_SHA}" in commands and "DEPLOY_IMAGE" in commands
    assert deploy["environment"]["KUBECONFIG_CONTENT"] == {"from_secret": "kubeconfig"}
    names = list(steps)
    assert names.index("ci") < names.index("image") < names.index("deploy")


def test_woodpecker_path_filter_covers_the_service():
    filters = woodpecker()["when"]
    includes = [p for f in filters for p in f["path"]["include"]]
    for needed in ["infra/**", "host/**", "frontend/**", "extractors/**", "Cargo.lock", ".woodpecker.yml"]:
        assert needed in includes, f"path filter misses {needed}"
    for pattern in includes:
        top = pattern.split("/")[0]
        assert (ROOT / top).exists(), f"path filter names {pattern}, but {top} does not exist"
    # Every top-level directory of the repository is covered (ignored ones aside).
    ignored = {".git"}
    for line in (ROOT / ".gitignore").read_text().splitlines():
        ignored.add(line.strip().strip("/"))
    for entry in ROOT.iterdir():
        if entry.is_dir() and entry.name not in ignored:
            assert f"{entry.name}/**" in includes, f"changes under {entry.name}/ would not run the pipeline"


def test_woodpecker_shell_variables_are_escaped():
    """Woodpecker substitutes ${VAR} itself; shell variables must be written $${VAR}."""
    for step in woodpecker_steps().values():
        for command in step.get("commands", []):
            for match in re.finditer(r"(?<!\$)\$\{?([A-Za-z_]\w*)", command):
                assert match.group(1).startswith("CI_"), f"unescaped ${match.group(1)} in {command!r}"


# --- linters -------------------------------------------------------------------------------------


def test_yamllint():
    yamllint = tool("yamllint")
    if yamllint is None:
        pytest.skip("yamllint is not installed (infra/tests/run.sh installs it)")
    targets = [str(p) for p in files(K8S, "*.yaml")] + [str(WOODPECKER)]
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
