"""An idle agent sleeps: once what was written is delivered and its
checkpoint saved, skiff's threads wake only for what they are configured to
do on their own (the tail input's rescan every refresh_interval), not for
timers with nothing to do (flush, checkpoint, the kubernetes filter's wait
list, partial lines, retries). A node runs it all day; every wakeup of every
idle agent is paid across the fleet.

A thread's wakeups are counted as its voluntary context switches
(/proc/PID/task/TID/status): each return from a blocking epoll_wait is one.
The count is what the code does, not how fast the machine is, so the bound
is an assertion, not a timing."""

import os
import time
import unittest

import harness
from fake_es import FakeElasticsearch
from fake_k8s import FakeK8s, container_id, make_pod
from harness import Skiff, SkiffHttp, TempDir, free_port, wait_for, write_config

NODE = "node-1"
IDLE_SECONDS = 3.0
# What an idle agent may still do in IDLE_SECONDS: the rescan (refresh_interval
# 2s below: at most 2 turns) and a stray wakeup or two of the kernel's (a
# signal, a page fault that sleeps). Before this test, the same run woke the
# pipeline thread 58 times (the kubernetes filter's tick every 250ms, the
# flush timer every 200ms, the checkpoint timer every 100ms).
WAKEUPS_ALLOWED = 6


def thread_wakeups(pid):
    """{tid: (name, voluntary context switches)} of every thread of `pid`."""
    result = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status", encoding="ascii") as f:
                fields = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        except FileNotFoundError:
            continue  # a thread that ended meanwhile
        result[tid] = (fields["Name"].strip(), int(fields["voluntary_ctxt_switches"]))
    return result


def wakeups_between(before, after):
    """Wakeups per thread name between two thread_wakeups() samples; a
    thread started in between counts from 0."""
    spent = {}
    for tid, (name, count) in after.items():
        start = before.get(tid, (name, 0))[1]
        spent[f"{name}/{tid}"] = count - start
    return spent


class IdleTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir(self)
        self.containers = self.tmp.join("var", "log", "containers")
        os.makedirs(self.containers)
        self.k8s = FakeK8s(self.tmp.path, tls=False, token=None, node=NODE)
        self.addCleanup(self.k8s.close)
        self.es = FakeElasticsearch()
        self.es.start()
        self.addCleanup(self.es.stop)

    def start(self, storage):
        pod = "web-1"
        self.k8s.add_pods([make_pod(pod, node=NODE)])
        self.log = os.path.join(self.containers,
                                f"{pod}_default_app-{container_id(pod, 'app')}.log")
        self.port = free_port()
        config = harness.pipeline_config(
            [{"name": "tail", "tag": "kube.*", "path": os.path.join(self.containers, "*.log"),
              "parser": "cri", "read_from_head": True, "refresh_interval": "2s",
              "checkpoint_interval": "100ms"}],
            [{"name": "elasticsearch", "match": "kube.*", "hosts": [self.es.url]}],
            port=self.port, flush_interval="200ms", state_dir=self.tmp.join("state"))
        config["pipeline"]["filters"] = [
            {"name": "kubernetes", "match": "kube.*", "api_url": self.k8s.url,
             "node_name": NODE}]
        config["service"]["storage"] = {"type": storage}
        self.skiff = Skiff(self, self.tmp, write_config(self.tmp, config),
                           unset=("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"))
        SkiffHttp(self.skiff, self.port).wait_up()

    def write(self, count, first=0):
        with open(self.log, "a") as f:
            f.writelines(f"2026-11-23T05:00:00.000000001Z stdout F line {first + i}\n"
                         for i in range(count))

    def checkpoint_saved(self, count):
        """Whether the checkpoint file holds the end of the file (all `count`
        lines delivered and saved): the last write the agent has to do."""
        folder = self.tmp.join("state", "tail")
        size = os.path.getsize(self.log)
        for name in os.listdir(folder) if os.path.isdir(folder) else ():
            with open(os.path.join(folder, name), "rb") as f:
                if str(size).encode() in f.read():
                    return True
        return False

    def idle_wakeups(self):
        # Let one-shot work run out: the last checkpoint save, the chunk's
        # release, a delivery's connection kept alive.
        time.sleep(1.0)
        before = thread_wakeups(self.skiff.pid)
        time.sleep(IDLE_SECONDS)
        return wakeups_between(before, thread_wakeups(self.skiff.pid))

    def check_idle(self, storage):
        self.start(storage)
        self.write(50)
        wait_for(lambda: self.es.doc_count() >= 50, 20, "50 documents", alive=self.skiff)
        wait_for(lambda: self.checkpoint_saved(50), 10, "the checkpoint at the file's end",
                 alive=self.skiff)
        spent = self.idle_wakeups()
        self.assertLessEqual(sum(spent.values()), WAKEUPS_ALLOWED,
                             f"wakeups in {IDLE_SECONDS}s of idleness, per thread: {spent}")
        # And it still wakes for new lines, and delivers them.
        self.write(5, first=50)
        wait_for(lambda: self.es.doc_count() >= 55, 20, "55 documents", alive=self.skiff)
        self.skiff.assert_exit(self, 0, self.skiff.stop())

    def test_idle_agent_sleeps(self):
        self.check_idle("memory")

    def test_idle_agent_sleeps_with_filesystem_storage(self):
        self.check_idle("filesystem")


if __name__ == "__main__":
    unittest.main()
