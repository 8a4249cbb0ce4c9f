"""The systemd input across restarts: after SIGTERM nothing is repeated;
after SIGKILL while Elasticsearch is slow and failing, every entry is indexed
exactly once (re-read entries keep their origin, so `id: origin` gives them
their old _id and Elasticsearch answers 409); a checkpoint whose entry was
vacuumed away resumes at the oldest entry, counted and logged once; a
checkpoint entry that new matches leave out still counts as found."""

import os
import random
import re
import signal
import threading
import time
import unittest

import harness
import journal_files as jf
from fake_es import FakeElasticsearch
from harness import Skiff, SkiffHttp, TempDir, free_port, wait_for, write_config
from test_pipeline import read_records

SEQ = re.compile(r"line (\d+)$")


def seqs(records, key="message"):
    return [int(SEQ.search(r[key]).group(1)) for r in records]


class Writer(threading.Thread):
    """Appends entries to a journal file in batches until stopped, as
    journald would while skiff reads."""

    def __init__(self, path, first=0, batch=25, pause=0.05):
        super().__init__(daemon=True)
        self.path, self.batch, self.pause = path, batch, pause
        self.written = first
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stopping.is_set():
                jf.write(self.path, jf.unit_entries("kubelet.service", self.written, self.batch))
                self.written += self.batch
                time.sleep(self.pause)
        except Exception as e:  # reported by stop()
            self.error = e

    def stop(self):
        self.stopping.set()
        self.join(timeout=60)
        if self.error:
            raise self.error
        return self.written


class RestartCase(unittest.TestCase):
    def setUp(self):
        jf.need_journal_remote()
        self.tmp = TempDir(self)
        self.journal = self.tmp.join("journal")
        os.makedirs(self.journal)
        self.state = self.tmp.join("state")

    def start(self, run, inputs=None, outputs=None, port=None, **options):
        out = self.tmp.join(f"{run}.jsonl")
        inputs = inputs or [jf.systemd_input(self.journal, **options)]
        outputs = outputs or [{"name": "file", "match": "*", "path": out}]
        config = harness.pipeline_config(inputs, outputs, port=port, state_dir=self.state,
                                         flush_interval="100ms")
        tmp = TempDir(self)  # stderr of each run apart
        skiff = Skiff(self, tmp, write_config(tmp, config))
        if port:
            SkiffHttp(skiff, port).wait_up()
        return skiff, out

    def wait_count(self, skiff, out, n):
        wait_for(lambda: os.path.exists(out) and len(read_records(out)) >= n, 30,
                 f"{n} records in {out}", alive=skiff)

    def stop(self, skiff):
        skiff.assert_exit(self, 0, skiff.stop())

    def checkpoint(self):
        with open(os.path.join(self.state, "systemd", "systemd.0.checkpoint")) as f:
            return f.read()


class Restart(RestartCase):
    def test_sigterm_then_restart_repeats_nothing(self):
        """300 entries read, SIGTERM (exit 0, checkpoint saved at the last
        entry); 200 more written while skiff is down; the second run
        delivers exactly those 200."""
        path = os.path.join(self.journal, "system.journal")
        jf.write(path, jf.unit_entries("kubelet.service", 0, 300))
        run1, out1 = self.start("run1")
        self.wait_count(run1, out1, 300)
        self.stop(run1)
        self.assertIn("cursor s=", self.checkpoint())
        jf.write(path, jf.unit_entries("kubelet.service", 300, 200))
        run2, out2 = self.start("run2")
        self.wait_count(run2, out2, 200)
        time.sleep(0.5)
        self.stop(run2)
        self.assertEqual(seqs(read_records(out1)), list(range(300)))
        self.assertEqual(seqs(read_records(out2)), list(range(300, 500)))
        self.assertIn("after its checkpoint", run2.stderr_text())

    def test_sigkill_while_elasticsearch_is_slow_and_failing(self):
        """A backlog of 1,500 entries, and more appended all along;
        Elasticsearch answers slowly and refuses the first requests (503),
        and the input's buffer is small, so it pauses. skiff is SIGKILLed at a random moment after 100 documents
        and started again against a healthy Elasticsearch. Every entry is
        indexed exactly once: the entries after the checkpoint are read again
        (at least once, from the journal) and get the _id they had, which
        Elasticsearch refuses with 409 (exactly once, in the index)."""
        es = FakeElasticsearch().start()
        self.addCleanup(es.stop)
        es.delay = 0.3
        es.request_faults = [(503, None)] * 4
        output = {"name": "elasticsearch", "match": "*", "hosts": [es.url],
                  "retry_min": "100ms", "retry_max": "300ms", "compress": "none"}
        inputs = [jf.systemd_input(self.journal, buffer_limit="64KiB",
                                   checkpoint_interval="1s")]
        path = os.path.join(self.journal, "system.journal")
        jf.write(path, jf.unit_entries("kubelet.service", 0, 1500))  # a backlog
        writer = Writer(path, first=1500)
        writer.start()
        self.addCleanup(writer.stopping.set)
        port = free_port()
        run1, _ = self.start("run1", inputs=inputs, outputs=[output], port=port)
        wait_for(lambda: es.doc_count() >= 100, 60, "100 documents", alive=run1)
        pauses = SkiffHttp(run1, port).value("skiff_input_pauses_total", instance="systemd.0")
        time.sleep(random.uniform(0.0, 1.0))
        run1.proc.send_signal(signal.SIGKILL)
        run1.wait_exit(10, "after SIGKILL")
        before_restart = es.doc_count()
        es.delay = 0.0
        run2, _ = self.start("run2", inputs=inputs, outputs=[output])
        time.sleep(1.0)
        total = writer.stop()
        wait_for(lambda: es.doc_count() >= total, 60, f"{total} documents", alive=run2)
        time.sleep(0.5)
        self.stop(run2)

        with es.lock:
            docs = dict(es.docs)
            writes = dict(es.writes)
            conflicts = es.item_statuses[409]
        self.assertEqual(sorted(seqs(docs.values())), list(range(total)),
                         "each entry exactly once in the index")
        self.assertEqual(set(writes.values()), {1}, "a document was written twice")
        self.assertGreater(pauses, 0, "the input never paused")
        print(f"\n  {total} entries; {before_restart} indexed before SIGKILL; "
              f"{conflicts} re-sent after the restart and refused with 409; "
              f"{pauses} pauses", end=" ")


class Vacuum(RestartCase):
    def test_vacuumed_checkpoint_resumes_at_the_oldest_entry(self):
        """The file holding the checkpoint's entry is deleted while skiff is
        down (entries 10-14 in it after the checkpoint are lost with it); a
        newer file holds 15-19. The restart logs the loss once, counts it,
        and delivers 15-19; the next restart repeats nothing and counts no
        loss."""
        old = os.path.join(self.journal, "old.journal")
        jf.write(old, jf.unit_entries("kubelet.service", 0, 10))
        run1, out1 = self.start("run1")
        self.wait_count(run1, out1, 10)
        self.stop(run1)
        jf.write(old, jf.unit_entries("kubelet.service", 10, 5))
        jf.write(os.path.join(self.journal, "new.journal"),
                 jf.unit_entries("kubelet.service", 15, 5))
        os.unlink(old)

        port = free_port()
        run2, out2 = self.start("run2", port=port)
        self.wait_count(run2, out2, 5)
        lost = SkiffHttp(run2, port).value("skiff_systemd_cursor_lost_total",
                                           instance="systemd.0")
        time.sleep(0.3)
        self.stop(run2)
        self.assertEqual(seqs(read_records(out2)), list(range(15, 20)))
        self.assertEqual(lost, 1)
        self.assertEqual(run2.stderr_text().count("is no longer in the journal"), 1)

        port = free_port()
        run3, out3 = self.start("run3", port=port)
        time.sleep(1.0)
        lost = SkiffHttp(run3, port).value("skiff_systemd_cursor_lost_total",
                                           instance="systemd.0")
        self.stop(run3)
        self.assertFalse(os.path.exists(out3) and read_records(out3))
        self.assertEqual(lost, 0)
        self.assertNotIn("no longer in the journal", run3.stderr_text())

    def test_new_matches_resume_after_the_checkpoint(self):
        """The checkpoint's entry (kubelet's 8) is left out by the matches of
        the next run (containerd's): it still exists, so nothing is counted
        lost and reading resumes after it: containerd's 9, 10 and 12, not its
        entries before 8."""
        path = os.path.join(self.journal, "system.journal")
        entries = []
        for n in range(10):
            unit = "kubelet.service" if n % 2 == 0 else "containerd.service"
            entries += jf.unit_entries(unit, n, 1)
        jf.write(path, entries)
        kubelet = ["_SYSTEMD_UNIT=kubelet.service"]
        run1, out1 = self.start("run1", matches=kubelet)
        self.wait_count(run1, out1, 5)
        time.sleep(0.3)
        self.stop(run1)
        jf.write(path, jf.unit_entries("containerd.service", 10, 1) +
                 jf.unit_entries("kubelet.service", 11, 1) +
                 jf.unit_entries("containerd.service", 12, 1))
        run2, out2 = self.start("run2", matches=["_SYSTEMD_UNIT=containerd.service"])
        self.wait_count(run2, out2, 3)
        time.sleep(0.5)
        self.stop(run2)
        self.assertEqual(seqs(read_records(out1)), [0, 2, 4, 6, 8])
        self.assertEqual(seqs(read_records(out2)), [9, 10, 12])
        self.assertNotIn("no longer in the journal", run2.stderr_text())


if __name__ == "__main__":
    unittest.main()
