"""Every YAML example in the README is a test: each ```yaml block that is a
skiff config must pass `--dry-run`, and runs for a moment where everything it
talks to is local (its outputs are file, stdout or null). Blocks that are
Kubernetes objects (a top-level `apiVersion:`) are manifests, checked by
test_packaging.py against packaging/kubernetes.

The examples are written for a node: their absolute paths (/etc/skiff/...,
/var/log/..., /var/lib/skiff, /tmp/...) are moved into a temporary folder,
files they name under /etc/skiff are made there, and they run as in a pod
(in_cluster.py) so that the in-cluster defaults of the kubernetes filter are
the ones tried."""

import os
import re
import unittest

from fake_k8s import FakeK8s
from harness import Skiff, TempDir, free_port, run_cli, wait_for, write_config
from in_cluster import InCluster

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
MOVED_PATHS = re.compile(r"(?<![\w/.])(/etc/skiff/|/var/log/|/var/lib/skiff|/tmp/)")
LISTEN = re.compile(r"(listen:\s*)[\w.\[\]:]*:\d+")
LOCAL_OUTPUTS = {"file", "stdout", "null"}


def yaml_blocks():
    """[(line number, text)] of every ```yaml block of the README."""
    blocks, current, start = [], None, 0
    with open(README, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if current is None and line.strip() == "```yaml":
                current, start = [], number + 1
            elif current is not None and line.strip() == "```":
                blocks.append((start, "".join(current)))
                current = None
            elif current is not None:
                current.append(line)
    return blocks


def with_state_dir(text, folder):
    """`text` with service.state_dir set to `folder` where the example leaves
    it to its default, /var/lib/skiff: a test never writes the machine's state
    folder (which the Debian package's check then finds in its way)."""
    if re.search(r"^\s*state_dir:", text, re.M):
        return text
    if re.search(r"^service:\s*$", text, re.M):
        return re.sub(r"^service:\s*$", f"service:\n  state_dir: {folder}", text, count=1,
                      flags=re.M)
    if re.search(r"^service:\s*\{", text, re.M):
        return re.sub(r"^service:\s*\{", f"service: {{ state_dir: {folder},", text, count=1,
                      flags=re.M)
    return f"service:\n  state_dir: {folder}\n" + text


def is_manifest(text):
    return re.search(r"^apiVersion:", text, re.M) is not None


def output_plugins(text):
    """The `name:` of each item under `outputs:` (flow or block style)."""
    section = text.split("outputs:", 1)[1] if "outputs:" in text else ""
    return set(re.findall(r"name:\s*([\w-]+)", section))


class ReadmeExamples(unittest.TestCase):
    def test_every_yaml_example(self):
        blocks = yaml_blocks()
        self.assertGreaterEqual(len(blocks), 5)
        tmp = TempDir(self)
        api = FakeK8s(tmp.path)
        self.addCleanup(api.close)
        pod = InCluster(tmp, api)
        for index, (line, text) in enumerate(blocks):
            if is_manifest(text):
                continue
            with self.subTest(readme_line=line):
                self.check_example(tmp.join(f"example-{index}"), line, text, pod)

    def check_example(self, root, line, text, pod):
        os.makedirs(root)
        for path in sorted(set(re.findall(r"/etc/skiff/[\w./-]+", text))):
            local = root + path
            os.makedirs(os.path.dirname(local), exist_ok=True)
            with open(local, "w") as f:
                # long enough for any secret file, a redact hash key included
                f.write("example contents of a file the README names\n")
        text = MOVED_PATHS.sub(lambda m: root + m.group(0), text)
        text = with_state_dir(text, root + "/var/lib/skiff")
        state_dirs = re.findall(r"state_dir:\s*\"?([^\s,}\"]+)", text)
        self.assertTrue(state_dirs and all(d.startswith(root) for d in state_dirs),
                        f"README.md:{line}: state_dir {state_dirs} is not in the test's folder")
        # The example's port may be taken on this machine: any free one will do.
        text = LISTEN.sub(lambda m: f"{m.group(1)}127.0.0.1:{free_port()}", text)
        tmp = TempDir(self)
        path = write_config(tmp, text)
        checked = run_cli(["--dry-run", "-c", path], env=pod.env(), wrapper=pod.wrapper())
        self.assertEqual(checked.returncode, 0,
                         f"README.md:{line}: the example fails --dry-run:\n{checked.stderr}")
        if output_plugins(text) - LOCAL_OUTPUTS:
            return  # it would send to a host of the example's: checked, not run
        os.makedirs(root + "/tmp", exist_ok=True)
        skiff = Skiff(self, tmp, path, env=pod.env(), wrapper=pod.wrapper())
        wait_for(lambda: "[pipeline] started" in skiff.stderr_text(), 10,
                 f"README.md:{line} running", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())


if __name__ == "__main__":
    unittest.main()
