"""Every plugin started with only its required options, so that no default
goes untried: the plugins and their required options are read from the
binary's own option tables (`--list-plugins`, `--describe`), each config must
pass `--dry-run`, and then run briefly: records flow, SIGTERM exits 0, and the
sanitizers stay quiet. A plugin with a required option this file has no
value for fails the test, so a new plugin cannot slip past it."""

import os
import re
import subprocess
import time
import unittest

import harness
import journal_files
from fake_es import FakeElasticsearch
from fake_fluentd import FakeFluentd
from fake_k8s import FakeK8s
from harness import Skiff, TempDir, run_cli, skiff_bin, skiff_env, wait_for, write_config
from in_cluster import InCluster
from test_pipeline import read_records

# Options every instance of a kind has; the test sets them itself.
COMMON = {"name", "match"}
# Plugins that need one of several options: the smallest choice (a function
# of the case when it needs a server).
ONE_OF = {("filter", "grep"): {"exclude": "^never$"},
          ("filter", "nest"): {"nested_under": "kubernetes"},
          ("output", "forward"): lambda case: {"hosts": [case.fluentd().address]}}
LINES = ['{"level":"info","msg":"hello 1"}', '{"level":"info","msg":"hello 2"}']
# Inputs that would read the machine's own state without an option: the short
# run gives them what the test made (plugin -> a function of the Case).
OFF_THE_MACHINE = {("input", "systemd"): lambda case: case.journal_folder()}


def list_plugins():
    """[(kind, name)] as `skiff --list-plugins` prints them."""
    out = subprocess.run([skiff_bin(), "--list-plugins"], env=skiff_env(), capture_output=True,
                         text=True, check=True, timeout=30).stdout
    return [tuple(line.split()[:2]) for line in out.splitlines() if line.strip()]


def required_options(name):
    """The plugin's own required options (not the common ones), from the
    `Options of NAME:` table that `skiff --describe NAME` prints."""
    out = subprocess.run([skiff_bin(), "--describe", name], env=skiff_env(),
                         capture_output=True, text=True, check=True, timeout=30).stdout
    own = out.split(f"Options of {name}:", 1)[1]
    required = []
    for line in own.splitlines()[2:]:
        columns = re.split(r"\s{2,}", line.strip())
        if len(columns) >= 3 and columns[2] == "(required)":
            required.append(columns[0])
    return [o for o in required if o not in COMMON]


class Case:
    """A config for one plugin, what it needs around it, and how to tell
    that records went through."""

    def __init__(self, test, kind, name):
        self.test, self.kind, self.name = test, kind, name
        self.tmp = TempDir(test)
        self.out = self.tmp.join("out.jsonl")
        self.log_file = self.tmp.join("app.log")
        self.fake = None
        self.parsers = []

    def value(self, option):
        """A value for a required option, by (kind, plugin, option)."""
        known = {
            ("input", "tail", "path"): lambda: self.log_file,
            ("output", "file", "path"): lambda: self.out,
            ("output", "elasticsearch", "hosts"): lambda: [self.elasticsearch().url],
            ("filter", "add_field", "key"): lambda: "cluster",
            ("filter", "add_field", "value"): lambda: "prod",
            ("filter", "nest", "operation"): lambda: "lift",
            ("filter", "parser", "parser"): lambda: "json",
            ("filter", "multiline", "parser"): lambda: "java",
            ("filter", "modify", "rules"): lambda: ["set modified true"],
            ("filter", "throttle", "rate"): lambda: 1000,
            ("filter", "rewrite_tag", "rules"): lambda: ["$log hello retagged false"],
            ("parser", "regex", "regex"): lambda: r"^(?<message>.*)$",
        }
        make = known.get((self.kind, self.name, option))
        if make is None:
            self.test.fail(f"{self.kind} {self.name}: required option '{option}' has no value "
                           "in test_plugin_defaults.py: add one")
        return make()

    def elasticsearch(self):
        if not self.fake:
            self.fake = FakeElasticsearch().start()
            self.test.addCleanup(self.fake.stop)
        return self.fake

    def fluentd(self):
        if not self.fake:
            self.fake = FakeFluentd().start()
            self.test.addCleanup(self.fake.stop)
        return self.fake
    def journal_folder(self):
        """A journal of two entries built by systemd-journal-remote, read from
        its head, instead of the machine's journal."""
        folder = self.tmp.join("journal")
        os.makedirs(folder)
        journal_files.write(os.path.join(folder, "system.journal"),
                            journal_files.unit_entries("kubelet.service", 0, 2))
        return {"path": folder, "read_from_head": True}

    def options(self):
        options = {o: self.value(o) for o in required_options(self.name)}
        # Needs one of several options, which a table cannot mark required.
        one_of = ONE_OF.get((self.kind, self.name), {})
        options.update(one_of(self) if callable(one_of) else one_of)
        off_the_machine = OFF_THE_MACHINE.get((self.kind, self.name))
        if off_the_machine:
            options.update(off_the_machine(self))
        return options

    def config(self):
        tail = {"name": "tail", "tag": "app", "path": self.log_file, "read_from_head": True,
                "refresh_interval": "200ms"}
        inputs = [tail]
        outputs = [{"name": "file", "match": "*", "path": self.out}]
        filters = []
        if self.kind == "input":
            inputs = [dict({"name": self.name, "tag": "app"}, **self.options())]
        elif self.kind == "filter":
            filters = [dict({"name": self.name, "match": "*"}, **self.options())]
        elif self.kind == "output":
            outputs = [dict({"name": self.name, "match": "*"}, **self.options())]
        elif self.kind == "parser":
            tail["parser"] = self.parser_name()
        config = harness.pipeline_config(inputs, outputs, state_dir=self.tmp.join("state"))
        if filters:
            config["pipeline"]["filters"] = filters
        if self.parsers:
            config["parsers"] = self.parsers
        return config

    def parser_name(self):
        """Built-in parsers by name; the others defined in `parsers:` with
        only what every parser needs (name, format) and their own required
        options."""
        if self.name in ("cri", "docker"):
            return self.name
        self.parsers = [dict({"name": "mine", "format": self.name}, **self.options())]
        return "mine"

    def lines(self):
        if self.kind == "parser" and self.name == "cri":
            return [f"2026-11-23T05:00:00.000000001Z stdout F {t}" for t in LINES]
        if self.kind == "parser" and self.name == "docker":
            return ['{"log":"%s\\n","stream":"stdout","time":"2026-11-23T05:00:00Z"}'
                    % t.replace('"', '\\"') for t in LINES]
        if self.kind == "parser" and self.name == "logfmt":
            return ["level=info msg=hello1", "level=info msg=hello2"]
        return LINES

    def delivered(self):
        """How many records reached where this case sends them."""
        if self.kind == "output" and self.name == "elasticsearch":
            return self.fake.doc_count()
        if self.kind == "output" and self.name == "forward":
            return self.fake.event_count()
        if self.kind == "output" and self.name == "stdout":
            return harness.count_lines(self.tmp.join("skiff.stdout"))
        if self.kind == "output" and self.name == "null":
            return None
        return len(read_records(self.out)) if os.path.exists(self.out) else 0


class EveryPluginWithItsRequiredOptions(unittest.TestCase):
    def test_every_plugin(self):
        plugins = list_plugins()
        self.assertGreaterEqual(len(plugins), 10, plugins)
        for kind, name in plugins:
            with self.subTest(plugin=f"{kind} {name}"):
                self.run_plugin(kind, name)

    def run_plugin(self, kind, name):
        case = Case(self, kind, name)
        wrapper, env = (), {}
        if kind == "filter" and name == "kubernetes":
            # Nothing is required in a pod: run it as in one (in_cluster.py).
            api = FakeK8s(case.tmp.path)
            self.addCleanup(api.close)
            pod = InCluster(case.tmp, api)
            wrapper, env = pod.wrapper(), pod.env()
        with open(case.log_file, "w") as f:
            f.write("")
        path = write_config(case.tmp, case.config())
        checked = run_cli(["--dry-run", "-c", path], env=env, wrapper=wrapper)
        self.assertEqual(checked.returncode, 0, f"{kind} {name}: {checked.stderr}")
        skiff = Skiff(self, case.tmp, path, env=env, wrapper=wrapper)
        if kind == "input" and name != "tail":
            # dummy emits one record a second by default; systemd reads its journal
            wait_for(lambda: case.delivered() >= 1, 20, f"a record from {name}", interval=0.1,
                     alive=skiff)
        elif case.delivered() is None:
            time.sleep(1.0)  # the null output: nothing to count but a live process
            self.assertIsNone(skiff.proc.poll(), f"{name} exited: {skiff.stderr_text()}")
        else:
            # Without read_from_head the tail input starts at the end of a file
            # it finds at its first start: write until it has read some.
            def appended_and_delivered():
                with open(case.log_file, "a") as f:
                    f.writelines(line + "\n" for line in case.lines())
                return case.delivered() >= 2
            wait_for(appended_and_delivered, 20, f"records through {kind} {name}",
                     interval=0.3, alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        if kind == "filter" and name == "kubernetes":
            self.assertGreaterEqual(api.count("list"), 1, "no LIST with the in-cluster defaults")


if __name__ == "__main__":
    unittest.main()
