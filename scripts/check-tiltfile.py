#!/usr/bin/env python3
"""Evaluates the Tiltfile the way `tilt up` would read it, without Tilt, Docker or a cluster.

The Tiltfile runs in a Starlark interpreter (starlark-pyo3, i.e. starlark-rust) set to the
language Tilt accepts (no f-strings, no type annotations, top-level if/for). Every Tilt
builtin the Tiltfile may call is a stub here with Tilt's own parameter names, so a misspelt
function or keyword fails as it would in Tilt. The stubs record what the Tiltfile declared;
the checks afterwards fail on what Tilt would refuse or silently get wrong: a k8s_resource or
resource_dep naming nothing, an image built but deployed nowhere, a Dockerfile stage that does
not exist, a live_update sync outside its build context, an `only` glob, a port forwarded
twice, a shell command that does not parse. kustomize() renders the real overlay with
`kubectl kustomize`, so the Tiltfile's rewriting of the manifests runs on the real objects.

The Tiltfile is evaluated once per configuration in CONFIGURATIONS (as `tilt up -- ARGS`
would pass them); configurations expected to be refused must end in fail().

Usage: check-tiltfile.py [TILTFILE]     (needs: starlark-pyo3, PyYAML, kubectl)
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import starlark as sl
import yaml

# (name, `tilt up -- ARGS` as a dict, None or the error it must fail with)
CONFIGURATIONS = [
    ("defaults", {}, None),
    ("host release build", {"compile": "host", "profile": "release"}, None),
    ("extra context", {"allow-context": ["kind-ci"]}, None),
    ("unknown compile mode", {"compile": "podman"}, "--compile must be"),
    ("unknown profile", {"profile": "bench"}, "--profile must be"),
]

# What the dev loop promises (k8s/README.md): the four gRPC and metrics ports on localhost.
REQUIRED_PORT_FORWARDS = {50051, 50052, 50053, 50054, 9091, 9092, 9093, 9094}

WORKLOAD_KINDS = {
    "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod",
}
TRIGGER_MODE_AUTO = 1
TRIGGER_MODE_MANUAL = 2


class TiltfileError(Exception):
    pass


class Tilt:
    """The builtins, bound to one evaluation, recording what the Tiltfile declared."""

    def __init__(self, root: Path, args: dict):
        self.root = root
        self.args = args
        self.defined: dict[str, str] = {}
        self.parsed = False
        self.images: list[dict] = []
        self.objects: list[dict] = []
        self.local_resources: list[dict] = []
        self.k8s_resources: list[dict] = []
        self.local_commands: list[str] = []
        self.allowed_contexts: list[str] = []

    # -- helpers --------------------------------------------------------------------------
    def path(self, p: str) -> Path:
        return (self.root / p).resolve()

    @staticmethod
    def _strings(value, what: str) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise TiltfileError("%s must be a string or a list of strings, not %r" % (what, value))

    # -- config ---------------------------------------------------------------------------
    def _define(self, kind: str, name: str, args: bool, usage: str):
        if self.parsed:
            raise TiltfileError("config.define_%s(%r) after config.parse()" % (kind, name))
        if name in self.defined:
            raise TiltfileError("config setting %r defined twice" % name)
        self.defined[name] = kind

    def config_define_string(self, name, args=False, usage=""):
        self._define("string", name, args, usage)

    def config_define_string_list(self, name, args=False, usage=""):
        self._define("string_list", name, args, usage)

    def config_define_bool(self, name, args=False, usage=""):
        self._define("bool", name, args, usage)

    def config_parse(self):
        self.parsed = True
        for key, value in self.args.items():
            kind = self.defined.get(key)
            if kind is None:
                raise TiltfileError("`tilt up -- --%s` is not a setting the Tiltfile defines" % key)
            ok = {
                "string": isinstance(value, str),
                "string_list": isinstance(value, list),
                "bool": isinstance(value, bool),
            }[kind]
            if not ok:
                raise TiltfileError("setting %r expects a %s" % (key, kind))
        return dict(self.args)

    # -- settings -------------------------------------------------------------------------
    def version_settings(self, check_updates=True, constraint=""):
        if constraint and not re.match(r"^[<>=!~^ 0-9.,]+$", constraint):
            raise TiltfileError("version_settings: bad constraint %r" % constraint)

    def update_settings(self, max_parallel_updates=3, k8s_upsert_timeout_secs=30,
                        suppress_unused_image_warnings=None):
        pass

    def allow_k8s_contexts(self, contexts):
        self.allowed_contexts += self._strings(contexts, "allow_k8s_contexts")

    def watch_file(self, file_path):
        pass

    # -- local ----------------------------------------------------------------------------
    def local(self, command, quiet=False, command_bat="", echo_off=False, env=None, dir="",
              stdin=None):
        cmd = command if isinstance(command, str) else shlex.join(command)
        self.local_commands.append(cmd)
        return ""  # not run: only its syntax is checked

    def local_resource(self, name, cmd="", deps=None, trigger_mode=TRIGGER_MODE_AUTO,
                       resource_deps=None, ignore=None, auto_init=True, serve_cmd="",
                       cmd_bat="", serve_cmd_bat="", allow_parallel=False, links=None,
                       tags=None, env=None, serve_env=None, readiness_probe=None, dir="",
                       serve_dir="", labels=None):
        if not cmd and not serve_cmd:
            raise TiltfileError("local_resource(%r) needs cmd or serve_cmd" % name)
        self.local_resources.append({
            "name": name,
            "cmd": cmd,
            "serve_cmd": serve_cmd,
            "deps": self._strings(deps, "deps"),
            "resource_deps": self._strings(resource_deps, "resource_deps"),
        })

    # -- images ---------------------------------------------------------------------------
    def docker_build(self, ref, context, build_args=None, dockerfile="Dockerfile",
                     dockerfile_contents="", live_update=None, match_in_env_vars=False,
                     ignore=None, only=None, entrypoint=None, target="", ssh="", network="",
                     secret="", extra_tag="", container_args=None, cache_from=None,
                     pull=False, platform="", env_vars=None):
        if any(i["ref"] == ref for i in self.images):
            raise TiltfileError("image %r is built twice" % ref)
        self.images.append({
            "ref": ref,
            "context": context,
            "dockerfile": dockerfile,
            "target": target,
            "only": self._strings(only, "only"),
            "live_update": live_update or [],
        })

    def sync(self, local_path, remote_path):
        return {"step": "sync", "local": local_path, "remote": remote_path}

    def run(self, cmd, trigger=None, echo_off=False):
        return {"step": "run", "cmd": cmd}

    def fall_back_on(self, files):
        return {"step": "fall_back_on", "files": self._strings(files, "fall_back_on")}

    def restart_container(self):
        return {"step": "restart_container"}

    # -- Kubernetes -----------------------------------------------------------------------
    def kustomize(self, pathToDir, kustomize_bin=None, flags=None):
        path = self.path(pathToDir)
        if not (path / "kustomization.yaml").is_file():
            raise TiltfileError("kustomize(%r): no kustomization.yaml there" % pathToDir)
        done = subprocess.run(["kubectl", "kustomize", str(path)] + self._strings(flags, "flags"),
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise TiltfileError("kustomize(%r) failed: %s" % (pathToDir, done.stderr.strip()))
        return done.stdout

    def decode_yaml_stream(self, yaml_text):
        return [d for d in yaml.safe_load_all(yaml_text) if d is not None]

    def encode_yaml_stream(self, objs):
        return yaml.safe_dump_all(objs, sort_keys=False)

    def k8s_yaml(self, yaml_value, allow_duplicates=False):
        texts = self._strings(yaml_value, "k8s_yaml")
        for text in texts:
            if "\n" not in text and self.path(text).is_file():
                text = self.path(text).read_text()
            for obj in yaml.safe_load_all(text):
                if obj is None:
                    continue
                for key in ("apiVersion", "kind", "metadata"):
                    if key not in obj:
                        raise TiltfileError("k8s_yaml: an object without %s" % key)
                self.objects.append(obj)

    def port_forward(self, local_port, container_port=None, name=None, link_path=None,
                     host=None):
        if not isinstance(local_port, int) or not 0 < local_port < 65536:
            raise TiltfileError("port_forward: bad local port %r" % local_port)
        return {"local": local_port, "container": container_port or local_port, "name": name}

    def k8s_resource(self, workload="", new_name="", port_forwards=None,
                     extra_pod_selectors=None, trigger_mode=TRIGGER_MODE_AUTO,
                     resource_deps=None, objects=None, auto_init=True, pod_readiness="",
                     links=None, labels=None, discovery_strategy=""):
        forwards = []
        for pf in port_forwards or []:
            if isinstance(pf, int):
                pf = {"local": pf, "container": pf}
            elif isinstance(pf, str):
                local, _, remote = pf.partition(":")
                pf = {"local": int(local), "container": int(remote or local)}
            forwards.append(pf)
        if pod_readiness not in ("", "wait", "ignore", "succeeded"):
            raise TiltfileError("k8s_resource: bad pod_readiness %r" % pod_readiness)
        self.k8s_resources.append({
            "workload": workload,
            "new_name": new_name,
            "port_forwards": forwards,
            "resource_deps": self._strings(resource_deps, "resource_deps"),
            "objects": self._strings(objects, "objects"),
        })

    # -- the checks after evaluation --------------------------------------------------------
    def check(self) -> list[str]:
        problems: list[str] = []
        workloads = {
            o["metadata"]["name"]: o for o in self.objects if o["kind"] in WORKLOAD_KINDS
        }
        if not workloads:
            problems.append("k8s_yaml() deployed no workload")

        resource_names = {r["name"] for r in self.local_resources} | set(workloads)
        forwarded: dict[int, str] = {}
        for r in self.k8s_resources:
            if r["workload"] not in workloads:
                problems.append("k8s_resource(%r): no such workload in k8s_yaml (have: %s)"
                                % (r["workload"], ", ".join(sorted(workloads))))
                continue
            container_ports = {
                p.get("containerPort")
                for c in _pod_spec(workloads[r["workload"]]).get("containers", [])
                for p in c.get("ports", [])
            }
            for pf in r["port_forwards"]:
                owner = forwarded.setdefault(pf["local"], r["workload"])
                if owner != r["workload"]:
                    problems.append("local port %d is forwarded for both %s and %s"
                                    % (pf["local"], owner, r["workload"]))
                if pf["container"] not in container_ports:
                    problems.append("%s: port_forward to %s, which no container declares"
                                    % (r["workload"], pf["container"]))
            if r["new_name"]:
                resource_names.add(r["new_name"])
        for r in self.k8s_resources + self.local_resources:
            for dep in r["resource_deps"]:
                if dep not in resource_names:
                    problems.append("%s: resource_dep %r is not a resource"
                                    % (r.get("workload") or r.get("name"), dep))

        missing = REQUIRED_PORT_FORWARDS - set(forwarded)
        if missing:
            problems.append("ports not forwarded: %s" % ", ".join(map(str, sorted(missing))))

        deployed_images = {
            _image_name(c["image"])
            for o in workloads.values()
            for c in _pod_spec(o).get("containers", []) + _pod_spec(o).get("initContainers", [])
        }
        for image in self.images:
            problems += self._check_image(image, deployed_images)
            problems += self._check_sync_targets(image, workloads)

        for cmd in self.local_commands + [r["cmd"] for r in self.local_resources if r["cmd"]]:
            done = subprocess.run(["sh", "-n", "-c", cmd], capture_output=True, text=True)
            if done.returncode != 0:
                problems.append("shell command does not parse: %s\n  %s"
                                % (cmd, done.stderr.strip()))
        return problems

    def _check_image(self, image: dict, deployed_images: set[str]) -> list[str]:
        problems = []
        ref = image["ref"]
        if ref not in deployed_images:
            problems.append("docker_build(%r): no deployed container uses this image" % ref)
        dockerfile = self.path(image["dockerfile"])
        if not dockerfile.is_file():
            return problems + ["docker_build(%r): %s does not exist" % (ref, image["dockerfile"])]
        stages = re.findall(r"(?im)^FROM\s+\S+\s+AS\s+(\S+)\s*$", dockerfile.read_text())
        if image["target"] and image["target"] not in stages:
            problems.append("docker_build(%r): Dockerfile has no stage %r (stages: %s)"
                            % (ref, image["target"], ", ".join(stages)))
        for only in image["only"]:
            if "*" in only:
                problems.append("docker_build(%r): only= does not take globs: %r" % (ref, only))
        context = self.path(image["context"])
        seen_sync = seen_run = False
        for step in image["live_update"]:
            kind = step.get("step") if isinstance(step, dict) else None
            if kind is None:
                problems.append("docker_build(%r): live_update holds a non-step %r" % (ref, step))
            elif kind == "fall_back_on" and (seen_sync or seen_run):
                problems.append("docker_build(%r): fall_back_on must come first" % ref)
            elif kind == "sync":
                if seen_run:
                    problems.append("docker_build(%r): sync after run" % ref)
                seen_sync = True
                local = self.path(step["local"])
                if context != local and context not in local.parents:
                    problems.append("docker_build(%r): sync source %s is outside the context %s"
                                    % (ref, step["local"], image["context"]))
                if image["only"] and local.relative_to(context).as_posix() not in image["only"]:
                    problems.append("docker_build(%r): sync source %s is not in only="
                                    % (ref, step["local"]))
                if not step["remote"].startswith("/"):
                    problems.append("docker_build(%r): sync target %r is not absolute"
                                    % (ref, step["remote"]))
            elif kind == "run":
                seen_run = True
        return problems


    def _check_sync_targets(self, image: dict, workloads: dict) -> list[str]:
        """A live update writes into the running container: with a read-only root filesystem
        every sync target must be on a mounted volume, or the update fails at run time."""
        problems = []
        syncs = [s for s in image["live_update"] if isinstance(s, dict) and s.get("step") == "sync"]
        for name, obj in workloads.items():
            pod = _pod_spec(obj)
            for c in pod.get("containers", []):
                if _image_name(c["image"]) != image["ref"]:
                    continue
                pod_ro = pod.get("securityContext", {}).get("readOnlyRootFilesystem", False)
                if not c.get("securityContext", {}).get("readOnlyRootFilesystem", pod_ro):
                    continue
                mounts = [m["mountPath"].rstrip("/") + "/" for m in c.get("volumeMounts", [])
                          if not m.get("readOnly")]
                for step in syncs:
                    if not any(step["remote"].startswith(m) for m in mounts):
                        problems.append("%s: live_update writes %s, but the root filesystem is "
                                        "read-only and no writable volume is mounted there"
                                        % (name, step["remote"]))
        return problems


def _pod_spec(obj: dict) -> dict:
    spec = obj.get("spec", {})
    if obj["kind"] == "Pod":
        return spec
    if obj["kind"] == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("template", {}).get("spec", {})


def _image_name(image: str) -> str:
    """`leadpool:dev` -> `leadpool` (Tilt matches its builds to manifests by name)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


def dialect() -> sl.Dialect:
    d = sl.Dialect.extended()
    d.enable_f_strings = False  # Go Starlark (Tilt) has none
    d.enable_types = sl.DialectTypes.DISABLE
    d.enable_positional_only_arguments = False
    d.enable_load_reexport = False
    d.enable_top_level_stmt = True  # Tilt allows top-level if/for
    return d


PRELUDE = """
config = struct(
    define_string = _config_define_string,
    define_string_list = _config_define_string_list,
    define_bool = _config_define_bool,
    parse = _config_parse,
)
"""

BUILTINS = [
    "version_settings", "update_settings", "allow_k8s_contexts", "watch_file", "local",
    "local_resource", "docker_build", "sync", "run", "fall_back_on", "restart_container",
    "kustomize", "decode_yaml_stream", "encode_yaml_stream", "k8s_yaml",
    "port_forward", "k8s_resource",
]


def evaluate(tiltfile: Path, args: dict) -> Tilt:
    tilt = Tilt(tiltfile.parent, args)
    module = sl.Module()
    for name in BUILTINS:
        module.add_callable(name, getattr(tilt, name))
    for name in ("define_string", "define_string_list", "define_bool", "parse"):
        module.add_callable("_config_" + name, getattr(tilt, "config_" + name))
    module["TRIGGER_MODE_AUTO"] = TRIGGER_MODE_AUTO
    module["TRIGGER_MODE_MANUAL"] = TRIGGER_MODE_MANUAL
    sl.eval(module, sl.parse("<prelude>", PRELUDE, dialect()),
            sl.Globals.extended_by([sl.LibraryExtension.StructType]))

    def no_extensions(name: str):
        raise TiltfileError("load(%r): extensions are fetched from the network; vendor the "
                            "file and load it by path" % name)

    ast = sl.parse(str(tiltfile), tiltfile.read_text(), dialect())
    # Only what Tilt's own Starlark has: the standard library and print().
    sl.eval(module, ast, sl.Globals.extended_by([sl.LibraryExtension.Print]),
            sl.FileLoader(no_extensions))
    return tilt


def main() -> int:
    tiltfile = Path(sys.argv[1] if len(sys.argv) > 1 else "Tiltfile").resolve()
    os.chdir(tiltfile.parent)
    failures = 0
    for name, args, must_fail_with in CONFIGURATIONS:
        try:
            tilt = evaluate(tiltfile, args)
            problems = tilt.check()
        except (sl.StarlarkError, TiltfileError) as err:
            if must_fail_with and must_fail_with in str(err):
                print("ok   %-22s refused as expected (%s)" % (name, must_fail_with))
                continue
            print("FAIL %-22s %s" % (name, err))
            failures += 1
            continue
        if must_fail_with:
            print("FAIL %-22s was accepted; the Tiltfile should fail() on it" % name)
            failures += 1
        elif problems:
            failures += 1
            for problem in problems:
                print("FAIL %-22s %s" % (name, problem))
        else:
            print("ok   %-22s %d images, %d objects, %d k8s resources, %d local resources"
                  % (name, len(tilt.images), len(tilt.objects), len(tilt.k8s_resources),
                     len(tilt.local_resources)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
