"""skiff's command line: informational commands, usage errors, --dry-run
diagnostics with file positions, and ${VAR} substitution."""

import json
import os
import re
import unittest

import harness
from harness import Skiff, TempDir, run_cli, wait_for, write_config

GOOD_CONFIG = """\
service:
  log_level: info
  flush_interval: 1s
  grace: 5s
pipeline:
  inputs:
    - name: dummy
      tag: app.hello
      rate: 10
      record: { message: hello }
  outputs:
    - name: "null"
      match: "app.*"
"""

# Four independent mistakes; each must be reported, with its own line.
BAD_CONFIG = """\
service:
  log_level: info
pipeline:
  inputs:
    - name: dummy
      tag: app.hello
      buffer_limit: 12 parsecs
    - name: nosuchplugin
      tag: other.x
  outputs:
    - name: file
      match: "app.*"
      pth: /tmp/skiff-never-written.log
    - name: stdout
      match: "nowhere.*"
"""

EXIT_USAGE = 2


def line_of(text, needle):
    """1-based number of the only line of `text` containing `needle`."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def diagnostics(stderr, path):
    """{line: [message, ...]} from the "PATH:LINE:COL: message" lines."""
    pattern = re.compile(re.escape(path) + r":(\d+):(\d+): (.*)")
    found = {}
    for text in stderr.splitlines():
        m = pattern.match(text)
        if m:
            found.setdefault(int(m.group(1)), []).append(m.group(3))
    return found


class InfoCommands(unittest.TestCase):
    """--version, --help, --list-plugins, --describe."""

    def test_version(self):
        """--version prints "skiff X.Y.Z" and exits 0."""
        proc = run_cli(["--version"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stdout.strip(), r"^skiff \d+\.\d+\.\d+")

    def test_help(self):
        """--help exits 0 and documents --dry-run."""
        proc = run_cli(["--help"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("--dry-run", proc.stdout)

    def test_list_plugins(self):
        """--list-plugins names every built-in plugin."""
        proc = run_cli(["--list-plugins"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        words = set(proc.stdout.split())
        for name in ("dummy", "file", "stdout", "null"):
            self.assertIn(name, words, proc.stdout)

    def test_describe_dummy(self):
        """--describe dummy lists its own options and the common input ones."""
        proc = run_cli(["--describe", "dummy"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for option in ("rate", "count", "record", "tag", "buffer_limit"):
            self.assertRegex(proc.stdout, rf"(?m)^\s*{option}\b", f"option {option}")

    def test_describe_unknown(self):
        """--describe of a plugin that does not exist exits 2 naming it."""
        proc = run_cli(["--describe", "nope"])
        self.assertEqual(proc.returncode, EXIT_USAGE)
        self.assertIn("nope", proc.stderr)


class UsageErrors(unittest.TestCase):
    """Bad command lines exit 2 without running anything."""

    def test_unknown_flag(self):
        """An unknown flag exits 2 and names it."""
        proc = run_cli(["--frobnicate"])
        self.assertEqual(proc.returncode, EXIT_USAGE)
        self.assertIn("--frobnicate", proc.stderr)

    def test_missing_config_flag(self):
        """Running without -c exits 2."""
        proc = run_cli([])
        self.assertEqual(proc.returncode, EXIT_USAGE)
        self.assertIn("-c", proc.stderr)

    def test_dry_run_without_config(self):
        """--dry-run without -c exits 2."""
        self.assertEqual(run_cli(["--dry-run"]).returncode, EXIT_USAGE)

    def test_missing_config_file(self):
        """A config path that does not exist exits 2 and names the path."""
        tmp = TempDir(self)
        path = tmp.join("absent.yaml")
        for args in (["--dry-run", "-c", path], ["-c", path]):
            proc = run_cli(args)
            self.assertEqual(proc.returncode, EXIT_USAGE, args)
            self.assertIn(path, proc.stderr)


class DryRun(unittest.TestCase):
    """--dry-run validates a config and reports every error with its place."""

    def test_good_config(self):
        """A valid config passes --dry-run with exit 0."""
        tmp = TempDir(self)
        proc = run_cli(["--dry-run", "-c", write_config(tmp, GOOD_CONFIG)])
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_shipped_demo_config(self):
        """config/demo.yaml, the Quick start config, is valid."""
        demo = os.path.join(os.path.dirname(__file__), "..", "..", "config", "demo.yaml")
        proc = run_cli(["--dry-run", "-c", os.path.abspath(demo)])
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_every_error_reported_once_with_position(self):
        """One run reports all four mistakes, each as FILE:LINE:COL on its own
        line: a bad size, an unknown plugin, a misspelt option with a hint,
        and an output whose match reaches no input."""
        tmp = TempDir(self)
        path = write_config(tmp, BAD_CONFIG)
        proc = run_cli(["--dry-run", "-c", path])
        self.assertEqual(proc.returncode, EXIT_USAGE, proc.stderr)
        found = diagnostics(proc.stderr, path)
        expect = {
            "buffer_limit: 12 parsecs": ["12 parsecs"],
            "nosuchplugin": ["nosuchplugin"],
            "pth:": ["pth", "did you mean 'path'"],
            '"nowhere.*"': ["nowhere.*"],
        }
        for needle, words in expect.items():
            line = line_of(BAD_CONFIG, needle)
            messages = found.get(line, [])
            self.assertTrue(any(all(w in m for w in words) for m in messages),
                            f"no error on line {line} mentioning {words}; "
                            f"stderr:\n{proc.stderr}")

    def test_unset_variable_is_an_error(self):
        """${VAR} with VAR unset and no default fails --dry-run naming VAR."""
        tmp = TempDir(self)
        text = GOOD_CONFIG.replace("app.hello", "${SKIFF_IT_SURELY_UNSET}")
        path = write_config(tmp, text)
        proc = run_cli(["--dry-run", "-c", path], unset=["SKIFF_IT_SURELY_UNSET"])
        self.assertEqual(proc.returncode, EXIT_USAGE, proc.stderr)
        self.assertIn("SKIFF_IT_SURELY_UNSET", proc.stderr)
        self.assertIn(f"{path}:{line_of(text, 'SKIFF_IT_SURELY_UNSET')}:", proc.stderr)


class EnvironmentSubstitution(unittest.TestCase):
    """${VAR} and ${VAR:-default} take effect in a real run."""

    def run_to_file(self, env):
        """Starts dummy (count 5) -> file whose path is
        ${SKIFF_IT_DIR}/${SKIFF_IT_NAME:-default}.log; returns (TempDir, Skiff).
        Variables not in `env` are unset."""
        tmp = TempDir(self)
        config = harness.pipeline_config(
            inputs=[{"name": "dummy", "tag": "app.env", "rate": 0, "count": 5,
                     "record": {"message": "${SKIFF_IT_MESSAGE:-fallback}"}}],
            outputs=[{"name": "file", "match": "app.*",
                      "path": "${SKIFF_IT_DIR}/${SKIFF_IT_NAME:-default}.log"}],
            flush_interval="100ms")
        path = write_config(tmp, config)
        env = dict(env, SKIFF_IT_DIR=tmp.path)
        skiff = Skiff(self, tmp, path, env=env, unset=["SKIFF_IT_NAME", "SKIFF_IT_MESSAGE"])
        return tmp, skiff

    def finish(self, tmp, skiff, name, message):
        """Waits for 5 lines in tmp/name, stops skiff, checks the records."""
        out = tmp.join(name)
        wait_for(lambda: harness.count_lines(out) >= 5, 15, f"5 lines in {out}", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        records = [json.loads(line) for line in harness.read_lines(out)]
        self.assertEqual(len(records), 5)
        self.assertTrue(all(r["message"] == message for r in records), records)

    def test_variables_set(self):
        """Set variables replace ${VAR} and override ${VAR:-default}."""
        tmp, skiff = self.run_to_file({"SKIFF_IT_NAME": "chosen",
                                       "SKIFF_IT_MESSAGE": "from env"})
        self.finish(tmp, skiff, "chosen.log", "from env")

    def test_defaults_used(self):
        """Unset variables with a default take the default."""
        tmp, skiff = self.run_to_file({})
        self.finish(tmp, skiff, "default.log", "fallback")


if __name__ == "__main__":
    unittest.main()
