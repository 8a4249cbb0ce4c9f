"""The shipped Kubernetes packaging agrees with the shipped configs: each
ConfigMap holds its config (config/kubernetes.yaml, config/audit.yaml)
exactly, the configs pass `skiff --dry-run` with the environment their
DaemonSet gives them, and the DaemonSets mount the paths the configs'
defaults point to (the node's journal and machine id included).
(tests/manifests checks the manifests against the Kubernetes schema and the
security settings the README promises.) The Debian package's parts agree
too: its conffile (config/host.yaml) passes `skiff --dry-run`, its unit runs
that file as the user its postinst creates with the state folder the file
names, and its version is the project's (scripts/check-deb.sh builds and
installs the package itself)."""

import os
import re
import unittest

import harness
from harness import TempDir

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CONFIG = os.path.join(ROOT, "config", "kubernetes.yaml")
AUDIT_CONFIG = os.path.join(ROOT, "config", "audit.yaml")
PACKAGING = os.path.join(ROOT, "packaging", "kubernetes")
HOST_CONFIG = os.path.join(ROOT, "config", "host.yaml")
DEBIAN = os.path.join(ROOT, "packaging", "debian")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def daemonset_env(tmp):
    """What the DaemonSet and the service account give skiff, with files in
    `tmp` standing in for the mounted secrets."""
    for name in ("token", "k8s-ca.crt", "password", "es-ca.crt"):
        with open(tmp.join(name), "w") as f:
            f.write("x\n")
    return {"NODE_NAME": "node-1", "KUBERNETES_API_URL": "https://127.0.0.1:6443",
            "SKIFF_K8S_TOKEN_FILE": tmp.join("token"),
            "SKIFF_K8S_CA_FILE": tmp.join("k8s-ca.crt"),
            "ES_PASSWORD_FILE": tmp.join("password"), "ES_CA_FILE": tmp.join("es-ca.crt"),
            "SKIFF_STATE_DIR": tmp.join("state")}


def audit_env(tmp):
    """What the audit DaemonSet gives skiff (the Secret's files in `tmp`)."""
    for name in ("password", "ca.crt", "tls.crt", "tls.key"):
        with open(tmp.join(name), "w") as f:
            f.write("x\n")
    return {"ES_PASSWORD_FILE": tmp.join("password"), "ES_CA_FILE": tmp.join("ca.crt"),
            "ES_CLIENT_CERT": tmp.join("tls.crt"), "ES_CLIENT_KEY": tmp.join("tls.key"),
            "SKIFF_STATE_DIR": tmp.join("state")}


class Packaging(unittest.TestCase):
    def assert_configmap_holds(self, configmap, key, config):
        """`configmap` is `config` indented under `KEY: |`
        (scripts/gen-configmap.sh)."""
        text = read(configmap)
        marker = f"  {key}: |\n"
        self.assertIn(marker, text)
        embedded = text.split(marker, 1)[1]
        lines = [line[4:] if line.strip() else line for line in embedded.split("\n")]
        self.assertEqual("\n".join(lines), read(config),
                         f"{configmap} is stale: run sh scripts/gen-configmap.sh")

    def test_configmap_holds_the_config(self):
        self.assert_configmap_holds(os.path.join(PACKAGING, "configmap.yaml"), "skiff.yaml",
                                    CONFIG)
        self.assert_configmap_holds(os.path.join(PACKAGING, "audit", "configmap.yaml"),
                                    "audit.yaml", AUDIT_CONFIG)

    def test_audit_config_passes_dry_run(self):
        tmp = TempDir(self)
        result = harness.run_cli(["--dry-run", "-c", AUDIT_CONFIG], env=audit_env(tmp))
        self.assertEqual(result.returncode, 0, result.stderr)
        # Empty CA and client certificate variables mean "none".
        env = dict(audit_env(tmp), ES_CA_FILE="", ES_CLIENT_CERT="", ES_CLIENT_KEY="")
        result = harness.run_cli(["--dry-run", "-c", AUDIT_CONFIG], env=env)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_audit_daemonset_mounts_what_the_config_reads(self):
        daemonset = read(os.path.join(PACKAGING, "audit", "daemonset.yaml"))
        config = read(AUDIT_CONFIG)
        for path in ("/var/log/kubernetes/audit", "/var/lib/skiff-audit",
                     "/etc/skiff/elasticsearch", "/etc/skiff/audit.yaml"):
            self.assertIn(f"mountPath: {path}", daemonset)
        for default in ("/var/log/kubernetes/audit/audit.log", "/var/lib/skiff-audit", "2021"):
            self.assertIn(default, config)
        self.assertIn("containerPort: 2021", daemonset)

    def test_config_passes_dry_run(self):
        tmp = TempDir(self)
        result = harness.run_cli(["--dry-run", "-c", CONFIG], env=daemonset_env(tmp))
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_config_names_what_is_missing(self):
        """Without NODE_NAME the config is refused (exit 2) with the line."""
        tmp = TempDir(self)
        env = daemonset_env(tmp)
        del env["NODE_NAME"]
        result = harness.run_cli(["--dry-run", "-c", CONFIG], env=env, unset=("NODE_NAME",))
        self.assertEqual(result.returncode, 2)
        self.assertIn("kubernetes.yaml:", result.stderr)
        self.assertIn("NODE_NAME", result.stderr)

    def test_daemonset_mounts_what_the_config_reads(self):
        daemonset = read(os.path.join(PACKAGING, "daemonset.yaml"))
        config = read(CONFIG)
        for path in ("/var/log", "/var/lib/skiff", "/etc/skiff/elasticsearch",
                     "/etc/skiff/skiff.yaml", "/run/log/journal", "/etc/machine-id"):
            self.assertIn(f"mountPath: {path}", daemonset)
        # The journal input reads the node's journal (an empty path), which
        # sd-journal finds by the machine id: both mounted read-only.
        self.assertIn('path: "${SKIFF_JOURNAL_PATH:-}"', config)
        for path in ("/run/log/journal", "/etc/machine-id"):
            self.assertRegex(daemonset, r"mountPath: %s, readOnly: true" % re.escape(path))
            self.assertIn(f"hostPath: {{ path: {path},", daemonset)
        for default in ("/var/log/containers/*.log", "/var/lib/skiff",
                        "/etc/skiff/elasticsearch/password", "/etc/skiff/elasticsearch/ca.crt"):
            self.assertIn(default, config)
        self.assertIn("fieldPath: spec.nodeName", daemonset)
        self.assertIn("path: /healthz", daemonset)
        self.assertIn("path: /readyz", daemonset)
        kustomization = read(os.path.join(PACKAGING, "kustomization.yaml"))
        for name in ("namespace.yaml", "rbac.yaml", "configmap.yaml", "daemonset.yaml"):
            self.assertIn(name, kustomization)
            self.assertTrue(os.path.exists(os.path.join(PACKAGING, name)))


class DebianPackage(unittest.TestCase):
    def test_host_config_passes_dry_run(self):
        result = harness.run_cli(["--dry-run", "-c", HOST_CONFIG])
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_rules_install_the_host_config_as_the_conffile(self):
        rules = read(os.path.join(DEBIAN, "rules"))
        self.assertRegex(rules, r"install .*config/host\.yaml debian/skiff/etc/skiff/skiff\.yaml")

    def test_unit_runs_the_conffile_as_the_postinst_user(self):
        unit = read(os.path.join(DEBIAN, "skiff.service"))
        self.assertIn("\nExecStartPre=/usr/bin/skiff --dry-run -c /etc/skiff/skiff.yaml\n", unit)
        self.assertIn("\nExecStart=/usr/bin/skiff -c /etc/skiff/skiff.yaml\n", unit)
        self.assertIn("\nUser=skiff\n", unit)
        self.assertIn("\nSupplementaryGroups=adm\n", unit)
        self.assertIn("\nCapabilityBoundingSet=\n", unit)
        # StateDirectory=skiff is /var/lib/skiff, the only folder it may write.
        self.assertIn("\nStateDirectory=skiff\n", unit)
        self.assertIn("\nProtectSystem=strict\n", unit)
        config = read(HOST_CONFIG)
        self.assertIn("state_dir: /var/lib/skiff\n", config)
        for path in re.findall(r"^\s+path: (/\S+)$", config, re.M):
            if not path.startswith("/var/log/"):
                self.assertTrue(path.startswith("/var/lib/skiff/"),
                                f"{path}: the unit may write only under /var/lib/skiff")
        postinst = read(os.path.join(DEBIAN, "skiff.postinst"))
        self.assertRegex(postinst, r"adduser --system --group [^\n]*\\\n[^\n]* skiff\n")

    def test_version_is_the_projects(self):
        project = re.search(r"version : '([^']+)'", read(os.path.join(ROOT, "meson.build")))
        changelog = re.match(r"skiff \(([^)]+)\)", read(os.path.join(DEBIAN, "changelog")))
        self.assertEqual(changelog.group(1).split("-")[0], project.group(1),
                         "packaging/debian/changelog: add an entry for the new version")


if __name__ == "__main__":
    unittest.main()
