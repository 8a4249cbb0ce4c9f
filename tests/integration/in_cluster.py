"""Runs skiff as it runs in a pod, so that the in-cluster defaults are tried
and not only explicit options: in a private mount namespace (unshare -m), a
tmpfs on /run holds the service account's files where the kubelet mounts them
(/var/run/secrets/kubernetes.io/serviceaccount/token and ca.crt), and the
environment has KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, as the
kubelet sets them for every container, pointing at a fake API server on
127.0.0.1, and NODE_NAME as the DaemonSet passes spec.nodeName.

The machine's own /run is not touched: the tmpfs exists only in the
namespace, which ends with skiff. Needs root and unshare(1); tests skip
otherwise."""

import os
import shutil
import subprocess
import unittest

SERVICE_ACCOUNT_DIR = "/run/secrets/kubernetes.io/serviceaccount"
# $0 is the folder with the files to put there; "$@" is skiff's command line.
SCRIPT = (f'mount -t tmpfs skiff-test /run && mkdir -p {SERVICE_ACCOUNT_DIR} && '
          f'cp "$0/token" "$0/ca.crt" {SERVICE_ACCOUNT_DIR}/ && exec "$@"')


def require_namespaces():
    """Skips the calling test where a private mount namespace cannot be made."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise unittest.SkipTest("needs root and unshare(1) for a private mount namespace")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        raise unittest.SkipTest(f"unshare -m refused: {probe.stderr.decode().strip()}")


class InCluster:
    """The pod's view for skiff: `wrapper` goes before skiff's command line,
    `env` into its environment. `fake` is a FakeK8s with TLS."""

    def __init__(self, tmp, fake, node="node-1"):
        require_namespaces()
        self.fake = fake
        self.node = node
        self.folder = tmp.join("serviceaccount")
        os.makedirs(self.folder, exist_ok=True)
        with open(os.path.join(self.folder, "token"), "w") as f:
            f.write(fake.token + "\n")
        shutil.copy(fake.ca_file, os.path.join(self.folder, "ca.crt"))

    def wrapper(self):
        # unshare and sh exec: skiff keeps the PID, so signals reach it.
        return ["unshare", "-m", "sh", "-c", SCRIPT, self.folder]

    def env(self):
        return {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                "KUBERNETES_SERVICE_PORT": str(self.fake.port), "NODE_NAME": self.node}
