#!/usr/bin/env bash
# Static checks of how Leadpool is packaged and deployed: no Docker engine and no cluster
# needed. `make k8s-check` runs it, and CI through it.
#
#   1. render   `kubectl kustomize` renders the base and every overlay in k8s/overlays/
#   2. schemas  every rendered object validates (kubernetes-validate --strict, unknown fields
#               refused) against the oldest and the newest Kubernetes we support
#   3. checkov  no failed check on the rendered overlays and the Dockerfile; every skip is
#               justified inline (checkov.io/skip annotations, `# checkov:skip=` comments)
#   4. policy   Leadpool's own rules, which no generic scanner knows (see the Python below):
#               each service gets only configuration keys it knows (read from the Rust config
#               structs), probes match the services' health names and ports, the grace period
#               covers the drain, NetworkPolicies allow exactly the documented calls, …
#   4b. monitoring  the alert rules and the Grafana dashboard use only metrics the services
#               export, every rule has a severity and a summary; promtool (from Debian's
#               prometheus package, unpacked under .run) checks the rules' PromQL
#   4c. routes  the Ingress and the console's headers are what proto/routes.yaml and each
#               overlay's console config.json give (scripts/routes.py)
#   5. tilt     the Tiltfile evaluates against stubs of Tilt's builtins (check-tiltfile.py)
#
# Needs python3 (3.11) with pip and venv, and kubectl. The Python tools are installed once,
# pinned, into .run/k8s-venv (git-ignored); later runs reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.run/k8s-venv
OUT=.run/k8s-check
# Pinned: a new checkov release adds checks, which must not turn CI red on an unchanged tree.
REQUIREMENTS="checkov==3.3.30 kubernetes-validate==1.37.0 starlark-pyo3==2026.1.3"
# Oldest and newest Kubernetes the manifests are validated for (kubernetes-validate 1.37 ships
# schemas for 1.25 to 1.37). 1.30 is the oldest we support: native gRPC probes, PDB
# unhealthyPodEvictionPolicy and topology-spread matchLabelKeys are all on by default there.
K8S_VERSIONS="1.30.0 1.37.0"

failures=0
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }

command -v kubectl > /dev/null || { echo "check-k8s: kubectl is required (it renders kustomize)" >&2; exit 2; }

# --- tools ------------------------------------------------------------------------------------
if [[ "$(cat "$VENV/.requirements" 2> /dev/null)" != "$REQUIREMENTS" ]] \
    || ! "$VENV/bin/python" -c 'import checkov, kubernetes_validate, starlark, yaml' 2> /dev/null; then
    step "installing $REQUIREMENTS into $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    # shellcheck disable=SC2086 # word splitting of the list is intended
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $REQUIREMENTS
    echo "$REQUIREMENTS" > "$VENV/.requirements"
fi
PY=$VENV/bin/python

rm -rf "$OUT"
mkdir -p "$OUT"

# --- 1. render --------------------------------------------------------------------------------
step "render"
overlays=()
for dir in k8s/overlays/*/; do
    overlays+=("$(basename "$dir")")
done
((${#overlays[@]} > 0)) || fail "no overlays in k8s/overlays"
for target in base "${overlays[@]}"; do
    path=k8s/overlays/$target
    [[ $target == base ]] && path=k8s/base
    if kubectl kustomize "$path" > "$OUT/$target.yaml" 2> "$OUT/$target.err"; then
        echo "ok   $path: $(grep -c '^kind:' "$OUT/$target.yaml") objects"
    else
        fail "kubectl kustomize $path: $(cat "$OUT/$target.err")"
        rm -f "$OUT/$target.yaml"
    fi
done
rendered=()
for overlay in "${overlays[@]}"; do
    [[ -f $OUT/$overlay.yaml ]] && rendered+=("$OUT/$overlay.yaml")
done

# --- 2. schemas -------------------------------------------------------------------------------
step "schemas (kubernetes-validate --strict, Kubernetes $K8S_VERSIONS)"
# Custom resources have no schema here; the kinds we expect are set aside, anything else
# without a schema fails. (PrometheusRule: the pool-health alert rules, once wired in.)
for file in "${rendered[@]}"; do
    "$PY" - "$file" "${file%.yaml}.core.yaml" << 'PY' || fail "cannot split $file"
import sys, yaml
CUSTOM = {("monitoring.coreos.com/v1", "PrometheusRule"), ("monitoring.coreos.com/v1", "ServiceMonitor"),
          ("monitoring.coreos.com/v1", "PodMonitor"), ("cert-manager.io/v1", "Certificate"),
          ("cert-manager.io/v1", "Issuer")}
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
core = [d for d in docs if (d["apiVersion"], d["kind"]) not in CUSTOM]
for d in docs:
    if d not in core:
        print("skip %s/%s %s: custom resource, no schema" % (d["apiVersion"], d["kind"], d["metadata"]["name"]))
yaml.safe_dump_all(core, open(sys.argv[2], "w"))
PY
done
for version in $K8S_VERSIONS; do
    for file in "${rendered[@]}"; do
        core=${file%.yaml}.core.yaml
        if output=$("$VENV/bin/kubernetes-validate" --strict -k "$version" --quiet "$core" 2>&1) \
            && ! grep -q "Couldn't find schema" <<< "$output"; then
            echo "ok   $(basename "$file" .yaml) against $version"
        else
            fail "$(basename "$file" .yaml) against Kubernetes $version:"$'\n'"$output"
        fi
    done
done

# --- 3. checkov -------------------------------------------------------------------------------
step "checkov (rendered overlays and Dockerfile)"
checkov_args=(--framework kubernetes dockerfile --skip-download --output json -f Dockerfile)
for file in "${rendered[@]}"; do checkov_args+=(-f "$file"); done
"$VENV/bin/checkov" "${checkov_args[@]}" > "$OUT/checkov.json" 2> "$OUT/checkov.err" || true
if ! "$PY" - "$OUT/checkov.json" << 'PY'; then
import json, sys
try:
    reports = json.load(open(sys.argv[1]))
except ValueError:
    print("checkov produced no report (see .run/k8s-check/checkov.err)")
    sys.exit(1)
reports = reports if isinstance(reports, list) else [reports]
bad = False
frameworks = {r.get("check_type") for r in reports}
for expected in ("kubernetes", "dockerfile"):
    if expected not in frameworks:
        print("checkov did not scan any %s file" % expected)
        bad = True
for r in reports:
    s = r["summary"]
    print("%-4s %-10s passed %d, failed %d, skipped %d, parsing errors %d" % (
        "ok" if not s["failed"] and not s["parsing_errors"] else "FAIL",
        r["check_type"], s["passed"], s["failed"], s["skipped"], s["parsing_errors"]))
    for c in r["results"].get("failed_checks", []):
        print("     %s %s: %s (%s)" % (c["check_id"], c["resource"], c["check_name"], c["file_path"]))
    for c in r["results"].get("skipped_checks", []):
        reason = (c.get("check_result") or {}).get("suppress_comment", "")
        if not reason.strip():
            print("     %s %s: skipped without a reason" % (c["check_id"], c["resource"]))
            bad = True
    bad = bad or s["failed"] > 0 or s["parsing_errors"] > 0 or s["passed"] == 0
sys.exit(1 if bad else 0)
PY
    fail "checkov (full output: .run/k8s-check/checkov.json)"
fi

# --- 4. policy --------------------------------------------------------------------------------
step "policy (Leadpool's rules)"
if ! "$PY" - "${rendered[@]}" << 'PY'; then
"""Rules for the rendered overlays that generic scanners cannot know."""
import base64
import re
import sys
from pathlib import Path

import yaml

problems = []


def problem(overlay, message):
    problems.append("%s: %s" % (overlay, message))


# -- what each binary accepts, read from the Rust configuration structs -----------------------
def struct_fields(body):
    """[(key, type)] of a struct body; a field's key is its serde rename, if it has one."""
    fields, rename = [], None
    for line in body.splitlines():
        attr = re.search(r'#\[serde\(.*\brename\s*=\s*"(\w+)"', line)
        if attr:
            rename = attr.group(1)
            continue
        field = re.match(r"^\s*pub (\w+)\s*:\s*([\w:<>, ]+?),?\s*$", line)
        if field:
            fields.append((rename or field.group(1), field.group(2)))
            rename = None
    return fields


def rust_structs():
    structs = {}
    sources = [Path("shared/config/src/sections.rs")] + sorted(Path("services").glob("*/src/config.rs"))
    for src in sources:
        for name, body in re.findall(r"pub struct (\w+)\s*\{(.*?)\n\}", src.read_text(), re.S):
            structs[(src, name)] = struct_fields(body)
    return structs


STRUCTS = rust_structs()


def find_struct(config, type_name):
    """The section struct: in the service's config.rs, the shared sections, or another crate."""
    name = type_name.split("::")[-1]
    for key in ((config, name), (Path("shared/config/src/sections.rs"), name)):
        if key in STRUCTS:
            return STRUCTS[key]
    for src in sorted(Path("shared").glob("*/src/**/*.rs")) + sorted(config.parent.glob("**/*.rs")):
        for found, body in re.findall(r"pub struct (\w+)\s*\{(.*?)\n\}", src.read_text(), re.S):
            if found == name:
                return struct_fields(body)
    return None


def allowed_keys(service):
    """{"LEADPOOL_SERVER__LISTEN_ADDR", …} for services/<service>/src/config.rs's Config."""
    config = Path("services/%s/src/config.rs" % service)
    fields = STRUCTS.get((config, "Config"))
    if not fields:
        raise SystemExit("policy: cannot read the Config struct of %s" % config)
    keys = set()
    for section, type_name in fields:
        type_name = type_name.strip()
        body = find_struct(config, type_name)
        if not body:
            raise SystemExit("policy: cannot find struct %s (section %s of %s)" % (type_name, section, service))
        keys |= nested_keys(config, "LEADPOOL_%s" % section.upper(), body)
    return keys


def nested_keys(config, prefix, body):
    """The keys of a section, one level deeper where a field is a config struct of its own
    (`tls: Option<ServerTlsConfig>` → LEADPOOL_SERVER__TLS__CERT_FILE)."""
    keys = set()
    for key, type_name in body:
        inner = re.sub(r"^(Option|Vec)<(.*)>$", r"\2", type_name.strip())
        nested = find_struct(config, inner) if inner.endswith("Config") else None
        if nested:
            keys |= nested_keys(config, "%s__%s" % (prefix, key.upper()), nested)
        else:
            keys.add("%s__%s" % (prefix, key.upper()))
    return keys


SERVICES = {
    "intake": (50051, "leadpool.v1.IntakeService"),
    "routing": (50052, "leadpool.v1.RoutingService"),
    "claim": (50053, "leadpool.v1.ClaimService"),
    "scheduler": (50054, "leadpool.v1.SchedulerService"),
}
ALLOWED = {name: allowed_keys(name) for name in SERVICES}
ALLOWED["migrate"] = {"LEADPOOL_DATABASE__URL"}  # leadpool-migrate reads only this (clap)
# Created by the operator in prod (k8s/README.md), generated by the dev overlay.
EXTERNAL_SECRETS = {"leadpool-database", "leadpool-auth", "leadpool-redis"}


def seconds(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+)\s*(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        raise ValueError("not a duration: %r" % text)
    return sum(int(n) * units[u] for n, u in parts)


def selects(selector, labels):
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        k, op, values = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(k) not in values:
            return False
        if op == "NotIn" and labels.get(k) in values:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def pod_spec(obj):
    return obj["spec"]["template"]["spec"]


def check(path):
    overlay = Path(path).stem
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    workloads = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")]

    # Namespace: the restricted Pod Security Standard is enforced at admission.
    for ns in by_kind.get("Namespace", {}).values():
        if ns["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") != "restricted":
            problem(overlay, "namespace %s does not enforce the restricted Pod Security Standard" % ns["metadata"]["name"])

    for w in workloads:
        name = w["metadata"]["name"]
        spec = pod_spec(w)
        # Every pod: no API token, no service links (LEADPOOL_* Service variables would be
        # refused by the services), restricted security context.
        if spec.get("automountServiceAccountToken") is not False:
            problem(overlay, "%s mounts a service account token" % name)
        if spec.get("enableServiceLinks") is not False:
            problem(overlay, "%s: enableServiceLinks must be false (Services named leadpool-* would inject LEADPOOL_* variables)" % name)
        psc = spec.get("securityContext", {})
        if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problem(overlay, "%s: pod seccompProfile is not RuntimeDefault" % name)
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c.get("securityContext", {})
            where = "%s/%s" % (name, c["name"])
            if not (sc.get("runAsNonRoot", psc.get("runAsNonRoot"))):
                problem(overlay, "%s may run as root" % where)
            if sc.get("allowPrivilegeEscalation") is not False:
                problem(overlay, "%s allows privilege escalation" % where)
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                problem(overlay, "%s does not drop ALL capabilities" % where)
            if sc.get("readOnlyRootFilesystem") is not True:
                problem(overlay, "%s has a writable root filesystem" % where)
            image = c["image"]
            tail = image.rsplit("/", 1)[-1]
            if "@sha256:" not in image and (":" not in tail or tail.endswith(":latest")):
                problem(overlay, "%s: image %s is not pinned (tag or digest, never latest)" % (where, image))
            # Secret and ConfigMap references resolve.
            for e in c.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and ref["name"] not in by_kind.get("Secret", {}) and ref["name"] not in EXTERNAL_SECRETS:
                    problem(overlay, "%s: env %s refers to a Secret %s that nothing creates" % (where, e["name"], ref["name"]))
                ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
                if ref and ref["name"] not in by_kind.get("ConfigMap", {}):
                    problem(overlay, "%s: env %s refers to a missing ConfigMap %s" % (where, e["name"], ref["name"]))
            for src in c.get("envFrom", []):
                if "configMapRef" in src and src["configMapRef"]["name"] not in by_kind.get("ConfigMap", {}):
                    problem(overlay, "%s: envFrom a missing ConfigMap %s" % (where, src["configMapRef"]["name"]))

    # The four services and the migration Job.
    for w in workloads:
        labels = w["metadata"].get("labels", {})
        if labels.get("app.kubernetes.io/part-of") != "leadpool" or labels.get("app.kubernetes.io/component") not in ("api", "migration"):
            continue
        name = w["metadata"]["name"]
        spec = pod_spec(w)
        c = spec["containers"][0]
        binary = Path((c.get("command") or [""])[0]).name
        service = binary.removeprefix("leadpool-")
        if service not in ALLOWED:
            problem(overlay, "%s runs %r, which is not a Leadpool binary" % (name, binary))
            continue
        env = {}
        for e in c.get("env", []):
            env[e["name"]] = e.get("value", "<from %s>" % list((e.get("valueFrom") or {}).keys()))
        configmap_keys = set()
        for src in c.get("envFrom", []):
            if "configMapRef" in src:
                data = by_kind.get("ConfigMap", {}).get(src["configMapRef"]["name"], {}).get("data", {})
                configmap_keys |= set(data)
                env.update(data)
            if "secretRef" in src:
                problem(overlay, "%s: envFrom a Secret hides which keys it sets; use secretKeyRef" % name)
        for key in sorted(env):
            if key.startswith("LEADPOOL_") and key not in ALLOWED[service]:
                problem(overlay, "%s: %s is not a key %s knows; it would refuse to start" % (name, key, binary))
        for secret_key in ("LEADPOOL_DATABASE__URL", "LEADPOOL_AUTH__HS256_SECRET", "LEADPOOL_REDIS__URL"):
            literal = any(e["name"] == secret_key and "value" in e for e in c.get("env", []))
            if literal or secret_key in configmap_keys:
                problem(overlay, "%s: %s must come from a Secret, not a literal or ConfigMap" % (name, secret_key))
        # The development sign-in hands anyone a token for anyone: only where the HS256 secret
        # is the development value the overlay generates, never with the operator's secret.
        generated_secret = any(n.startswith("leadpool-auth") for n in by_kind.get("Secret", {}))
        if env.get("LEADPOOL_AUTH__DEV_SIGN_IN", "false").lower() == "true" and not generated_secret:
            problem(overlay, "%s: LEADPOOL_AUTH__DEV_SIGN_IN is on with a real secret; the development sign-in is for development clusters only" % name)
        if service == "migrate":
            if "LEADPOOL_DATABASE__URL" not in env:
                problem(overlay, "%s: no LEADPOOL_DATABASE__URL" % name)
            if w["kind"] != "Job" or w["spec"].get("backoffLimit") is None or w["spec"].get("ttlSecondsAfterFinished") is None:
                problem(overlay, "%s: the migration must be a Job with backoffLimit and ttlSecondsAfterFinished" % name)
            continue
        required = {"LEADPOOL_DATABASE__URL", "LEADPOOL_AUTH__HS256_SECRET"} | ({"LEADPOOL_REDIS__URL"} if service == "claim" else set())
        for key in sorted(required - set(env)):
            problem(overlay, "%s: %s is not set" % (name, key))
        if env.get("LEADPOOL_DATABASE__MIGRATE_ON_START") != "false":
            problem(overlay, "%s: LEADPOOL_DATABASE__MIGRATE_ON_START must be false (the migration Job migrates)" % name)

        # Graceful termination covers the drain.
        try:
            drain = seconds(env.get("LEADPOOL_SERVER__DRAIN_DELAY", "5s"))
            timeout = seconds(env.get("LEADPOOL_SERVER__SHUTDOWN_TIMEOUT", "25s"))
        except ValueError as err:
            problem(overlay, "%s: %s" % (name, err))
            drain = timeout = 0
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if grace <= drain + timeout:
            problem(overlay, "%s: terminationGracePeriodSeconds %s does not exceed drain_delay + shutdown_timeout (%s s)" % (name, grace, drain + timeout))

        # Probes: native gRPC, liveness "" and readiness the service's name, on its port — or,
        # with TLS on that port (the kubelet's gRPC probes cannot speak TLS), on the plaintext
        # health port it also serves.
        port, health_name = SERVICES[service]
        listen = env.get("LEADPOOL_SERVER__LISTEN_ADDR", "0.0.0.0:%d" % port)
        if not listen.endswith(":%d" % port):
            problem(overlay, "%s listens on %s, not on its port %d" % (name, listen, port))
        probe_port = port
        health_listen = env.get("LEADPOOL_SERVER__HEALTH_LISTEN_ADDR")
        if health_listen:
            probe_port = int(health_listen.rsplit(":", 1)[1])
        elif "LEADPOOL_SERVER__TLS__CERT_FILE" in env:
            problem(overlay, "%s serves TLS without LEADPOOL_SERVER__HEALTH_LISTEN_ADDR: its gRPC probes would fail" % name)
        if "LEADPOOL_SERVER__TLS__CERT_FILE" in env and not any(
                "/var/run/leadpool/tls" == m.get("mountPath") for m in c.get("volumeMounts", [])):
            problem(overlay, "%s: TLS files are configured but no tls volume is mounted" % name)
        ready = (c.get("readinessProbe") or {}).get("grpc")
        live = (c.get("livenessProbe") or {}).get("grpc")
        if not ready or ready.get("service") != health_name or ready.get("port") != probe_port:
            problem(overlay, "%s: readiness must be gRPC health %s on %d, is %s" % (name, health_name, probe_port, ready))
        if not live or live.get("service", "") != "" or live.get("port") != probe_port:
            problem(overlay, "%s: liveness must be gRPC health \"\" on %d, is %s" % (name, probe_port, live))
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        if ports.get("grpc") != port:
            problem(overlay, "%s: container port grpc is %s, not %d" % (name, ports.get("grpc"), port))
        # Metrics: served where the container port `metrics` and the scrape annotations say.
        metrics_port = ports.get("metrics")
        metrics_listen = env.get("LEADPOOL_METRICS__LISTEN_ADDR", "")
        if metrics_port is None:
            problem(overlay, "%s: no container port named metrics" % name)
        elif not metrics_listen.endswith(":%d" % metrics_port):
            problem(overlay, "%s: LEADPOOL_METRICS__LISTEN_ADDR is %r, not on the metrics port %d" % (name, metrics_listen, metrics_port))
        scrape = w["spec"]["template"]["metadata"].get("annotations", {})
        if scrape.get("prometheus.io/scrape") != "true" or scrape.get("prometheus.io/port") != str(metrics_port):
            problem(overlay, "%s: prometheus.io/scrape and prometheus.io/port must point at the metrics port %s" % (name, metrics_port))
        if not all(k in c.get("resources", {}).get(kind, {}) for kind in ("requests", "limits") for k in ("cpu", "memory")):
            problem(overlay, "%s: cpu and memory requests and limits must be set" % name)

        # Autoscaler and disruption budget agree.
        hpas = [h for h in by_kind.get("HorizontalPodAutoscaler", {}).values() if h["spec"]["scaleTargetRef"]["name"] == name]
        pod_labels = w["spec"]["template"]["metadata"].get("labels", {})
        pdbs = [p for p in by_kind.get("PodDisruptionBudget", {}).values() if selects(p["spec"]["selector"], pod_labels)]
        if len(hpas) != 1 or len(pdbs) != 1:
            problem(overlay, "%s: needs exactly one HorizontalPodAutoscaler and one PodDisruptionBudget (has %d, %d)" % (name, len(hpas), len(pdbs)))
            continue
        min_replicas = hpas[0]["spec"].get("minReplicas", 1)
        pdb = pdbs[0]["spec"]
        if "minAvailable" in pdb and isinstance(pdb["minAvailable"], int) and pdb["minAvailable"] >= min_replicas:
            problem(overlay, "%s: PDB minAvailable %d blocks every eviction at minReplicas %d" % (name, pdb["minAvailable"], min_replicas))
        if pdb.get("maxUnavailable") in (0, "0%"):
            problem(overlay, "%s: PDB maxUnavailable 0 blocks every eviction" % name)
        if "replicas" in w["spec"]:
            problem(overlay, "%s sets replicas although its autoscaler owns the count" % name)

    # Services point at a named port their pods have.
    pods = [(w, pod_spec(w), w["spec"]["template"]["metadata"].get("labels", {})) for w in workloads]
    for svc in by_kind.get("Service", {}).values():
        matches = [(w, s) for w, s, labels in pods if svc["spec"].get("selector") and selects({"matchLabels": svc["spec"]["selector"]}, labels)]
        if not matches:
            problem(overlay, "Service %s selects no pod" % svc["metadata"]["name"])
        for w, s in matches:
            names = {p.get("name") for c in s["containers"] for p in c.get("ports", [])}
            for p in svc["spec"]["ports"]:
                if isinstance(p.get("targetPort"), str) and p["targetPort"] not in names:
                    problem(overlay, "Service %s: targetPort %s is not a port of %s" % (svc["metadata"]["name"], p["targetPort"], w["metadata"]["name"]))

    # Secrets in the render: the HS256 secret is long enough.
    for s in by_kind.get("Secret", {}).values():
        raw = (s.get("data") or {}).get("hs256-secret")
        if raw is not None and len(base64.b64decode(raw)) < 32:
            problem(overlay, "Secret %s: hs256-secret is shorter than 32 bytes" % s["metadata"]["name"])

    # NetworkPolicies: who may call whom, between the pods of this render.
    policies = list(by_kind.get("NetworkPolicy", {}).values())

    def container_ports(spec):
        return {p.get("name"): p["containerPort"] for c in spec["containers"] for p in c.get("ports", [])}

    def port_allowed(rule_ports, port, dest_ports):
        if not rule_ports:
            return True
        for p in rule_ports:
            want = p.get("port")
            if want is None or want == port or (isinstance(want, str) and dest_ports.get(want) == port):
                return True
        return False

    def peer_allows(peers, labels):
        if not peers:
            return True
        for peer in peers:
            if "ipBlock" in peer:
                continue  # pod-to-pod traffic is judged by selectors only
            ns = peer.get("namespaceSelector")
            if ns is not None and ns != {}:
                continue  # another namespace
            if selects(peer.get("podSelector") or {}, labels):
                return True
        return False

    def direction_allows(kind, pod_labels, peer_labels, port, dest_ports):
        relevant = [p for p in policies if kind in p["spec"].get("policyTypes", ["Ingress"]) and selects(p["spec"]["podSelector"], pod_labels)]
        if not relevant:
            return True  # not isolated
        key = "ingress" if kind == "Ingress" else "egress"
        for p in relevant:
            for rule in p["spec"].get(key) or []:
                peers = rule.get("from" if kind == "Ingress" else "to")
                if peer_allows(peers, peer_labels) and port_allowed(rule.get("ports"), port, dest_ports):
                    return True
        return False

    def may_call(src, dst, port):
        s = next((p for p in pods if p[0]["metadata"]["name"] == src), None)
        d = next((p for p in pods if p[0]["metadata"]["name"] == dst), None)
        if s is None or d is None:
            return None
        dest_ports = container_ports(d[1])
        return (direction_allows("Egress", s[2], d[2], port, dest_ports)
                and direction_allows("Ingress", d[2], s[2], port, dest_ports))

    api = ["leadpool-intake", "leadpool-routing", "leadpool-claim", "leadpool-scheduler"]
    expectations = [("leadpool-intake", "leadpool-routing", 50052, True)]
    expectations += [(src, "leadpool-routing", 50052, False) for src in api[2:]]
    expectations += [(src, dst, SERVICES[dst.removeprefix("leadpool-")][0], False) for src in api for dst in api
                     if src != dst and (src, dst) != ("leadpool-intake", "leadpool-routing")]
    expectations += [(src, "postgres", 5432, True) for src in api + ["leadpool-migrate"]]
    expectations += [("redis", "postgres", 5432, False)]
    expectations += [("leadpool-claim", "redis", 6379, True)]
    expectations += [(src, "redis", 6379, False) for src in api if src != "leadpool-claim"] + [("leadpool-migrate", "redis", 6379, False)]
    checked = 0
    for src, dst, port, want in expectations:
        got = may_call(src, dst, port)
        if got is None:
            continue
        checked += 1
        if got != want:
            problem(overlay, "NetworkPolicy: %s -> %s:%d should be %s" % (src, dst, port, "allowed" if want else "denied"))
    if not any(p["spec"]["podSelector"] == {} and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"} and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies):
        problem(overlay, "no default-deny NetworkPolicy")
    for w, spec, labels in pods:
        dns = any(
            "Egress" in p["spec"].get("policyTypes", []) and selects(p["spec"]["podSelector"], labels)
            and any(any(pt.get("port") == 53 and pt.get("protocol") == "UDP" for pt in rule.get("ports", [])) for rule in p["spec"].get("egress") or [])
            for p in policies)
        if not dns:
            problem(overlay, "%s may not resolve names (no DNS egress)" % w["metadata"]["name"])
    print("ok   %s: %d workloads, %d connections checked against the NetworkPolicies" % (overlay, len(workloads), checked)
          if not any(p.startswith(overlay + ":") for p in problems) else "FAIL %s" % overlay)


for path in sys.argv[1:]:
    check(path)
for p in problems:
    print("     " + p)
sys.exit(1 if problems else 0)
PY
    fail "policy"
fi

# --- 4b. monitoring ---------------------------------------------------------------------------
step "monitoring (alert rules and dashboard)"
# promtool from Debian's prometheus package, unpacked under .run (nothing installed, no
# Prometheus server started); a machine without apt gets the structural checks only.
PROMTOOL=$(command -v promtool || true)
if [[ -z $PROMTOOL && -x .run/promtool/usr/bin/promtool ]]; then
    PROMTOOL=.run/promtool/usr/bin/promtool
fi
if [[ -z $PROMTOOL ]] && command -v apt-get > /dev/null && command -v dpkg-deb > /dev/null; then
    mkdir -p .run/promtool
    (cd .run/promtool && { apt-get download prometheus > /dev/null 2>&1 \
        || { apt-get update -qq > /dev/null 2>&1 && apt-get download prometheus > /dev/null 2>&1; }; }) \
        && dpkg-deb -x .run/promtool/prometheus_*.deb .run/promtool && rm -f .run/promtool/prometheus_*.deb
    [[ -x .run/promtool/usr/bin/promtool ]] && PROMTOOL=.run/promtool/usr/bin/promtool
fi
if ! "$PY" - "$OUT/prometheus-rules.yaml" << 'PY'; then
"""The rules and the dashboard use only metrics the services export, and every rule says
how bad it is and what it means."""
import json, re, sys
from pathlib import Path
import yaml

problems = []
source = Path("shared/telemetry/src/metrics.rs").read_text()
exported = set(re.findall(r'"(leadpool_[a-z_]+)"', source))
series = exported | {m + suffix for m in exported for suffix in ("_bucket", "_count", "_sum")}

def metrics_in(expr):
    return set(re.findall(r"\b(leadpool_[a-z_]+)\b", expr))

rule_doc = yaml.safe_load(open("monitoring/prometheus-rules.yaml"))
if rule_doc.get("kind") != "PrometheusRule" or not rule_doc.get("spec", {}).get("groups"):
    problems.append("monitoring/prometheus-rules.yaml: not a PrometheusRule with groups")
names = set()
for group in rule_doc.get("spec", {}).get("groups", []):
    for rule in group.get("rules", []):
        alert = rule.get("alert", "?")
        if alert in names:
            problems.append("alert %s is defined twice" % alert)
        names.add(alert)
        if not rule.get("expr"):
            problems.append("alert %s has no expr" % alert)
        if rule.get("labels", {}).get("severity") not in ("info", "warning", "critical"):
            problems.append("alert %s: severity must be info, warning or critical" % alert)
        if not rule.get("annotations", {}).get("summary"):
            problems.append("alert %s has no summary" % alert)
        for metric in sorted(metrics_in(rule.get("expr", "")) - series):
            problems.append("alert %s uses %s, which no service exports" % (alert, metric))
yaml.safe_dump({"groups": rule_doc.get("spec", {}).get("groups", [])}, open(sys.argv[1], "w"))

dashboard = json.load(open("monitoring/grafana-dashboard.json"))
panels = dashboard.get("panels", [])
if not panels:
    problems.append("the dashboard has no panels")
for panel in panels:
    for target in panel.get("targets", []):
        for metric in sorted(metrics_in(target.get("expr", "")) - series):
            problems.append("dashboard panel %r uses %s, which no service exports" % (panel.get("title"), metric))
for p in problems:
    print("     " + p)
print("%s  %d alert rules, %d dashboard panels" % ("ok" if not problems else "FAIL", len(names), len(panels)))
sys.exit(1 if problems else 0)
PY
    fail "monitoring"
fi
if [[ -n $PROMTOOL ]]; then
    if output=$("$PROMTOOL" check rules "$OUT/prometheus-rules.yaml" 2>&1); then
        echo "ok   promtool check rules: $(grep -o 'SUCCESS.*' <<< "$output" | head -n 1)"
    else
        fail "promtool check rules:"$'\n'"$output"
    fi
else
    echo "note promtool not available (no apt): structural checks only"
fi

# --- 4c. routes -------------------------------------------------------------------------------
step "routes (the Ingress and the console's security headers, from proto/routes.yaml)"
if python3 scripts/routes.py check-k8s; then
    echo "ok   k8s/base/console/ingress.yaml and every security-headers.inc are current"
else
    fail "routes"
fi

# --- 5. tilt ----------------------------------------------------------------------------------
step "Tiltfile (evaluated against stubs of Tilt's builtins)"
"$PY" scripts/check-tiltfile.py Tiltfile || fail "Tiltfile"

echo
if ((failures > 0)); then
    echo "check-k8s: $failures check(s) failed" >&2
    exit 1
fi
echo "check-k8s: all checks passed"
