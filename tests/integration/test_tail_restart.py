"""The tail input across restarts under continuous writes: after SIGTERM
nothing is lost or repeated; after SIGKILL nothing is lost, and the only
duplicates are the lines between the last saved checkpoint and what had been
delivered before the kill."""

import os
import random
import signal
import time
import unittest

from harness import TempDir, wait_for
import tail_writer as tw
from tail_writer import SeqWriter, TailRun, tail_input

RATE = 1500  # lines per second per file


def start_writers(logs, names=("a", "b")):
    writers = [SeqWriter(os.path.join(logs, f"{n}.log"), rate=RATE) for n in names]
    for w in writers:
        w.start()
    return writers


class TailRestart(unittest.TestCase):

    def setUp(self):
        self.tmp = TempDir(self)
        self.logs = self.tmp.join("logs")
        os.makedirs(self.logs)

    def input(self):
        # read_from_head false, the default in production: files created after
        # the first start are read from their head, then resume from their
        # checkpoints.
        return tail_input(os.path.join(self.logs, "*.log"), read_from_head=False,
                          checkpoint_interval="500ms")

    def test_sigterm_then_restart(self):
        """Two files written at 1,500 lines/s each; skiff is stopped with
        SIGTERM after 1 s (exit 0), stays down 0.7 s while the writers go
        on, and is started again for 1 s: every line arrives exactly once,
        including those written while skiff was down."""
        run1 = TailRun(self, self.tmp, self.input(), run="run1")
        writers = start_writers(self.logs)
        time.sleep(1.0)
        run1.stop()
        at_stop = {w.name: w.written for w in writers}
        checkpoints = tw.read_checkpoints(tw.checkpoint_path(self.tmp))
        time.sleep(0.7)
        run2 = TailRun(self, self.tmp, self.input(), run="run2")
        time.sleep(1.0)
        expected = {w.name: w.stop() for w in writers}
        run2.wait_delivered(sum(expected.values()), expected=expected)
        time.sleep(0.3)
        run2.stop()

        self.assertEqual(len(checkpoints), 2, f"checkpoints after SIGTERM: {checkpoints}")
        for name, written in at_stop.items():
            self.assertGreater(expected[name], written, "nothing written while down")
        tw.assert_exactly_once(self, run2.out, expected,
                               paths={w.name: w.gen_paths[0] for w in writers})

    def test_sigkill_at_random_moment(self):
        """Two files written at 1,500 lines/s each; once the first checkpoints
        are saved, skiff is killed with SIGKILL at a random moment within
        the next second, stays down 0.5 s, and runs again for 1 s (into a
        second output file). No line is lost. For each file: the first run
        delivered a prefix in order with no duplicate; the checkpoint lies at
        a line boundary no further than that prefix; the second run delivers
        exactly the lines from the checkpoint on. So the duplicates are one
        contiguous range right after the checkpoint (their count is
        printed)."""
        rng = random.Random()
        delay = rng.uniform(0.0, 1.0)
        out1, out2 = self.tmp.join("out1.jsonl"), self.tmp.join("out2.jsonl")
        ckpt_path = tw.checkpoint_path(self.tmp)
        run1 = TailRun(self, self.tmp, self.input(), out=out1, run="run1")
        writers = start_writers(self.logs)
        stats = {w.name: os.stat(w.path) for w in writers}
        ids = {name: (st.st_dev, st.st_ino) for name, st in stats.items()}
        wait_for(lambda: set(ids.values()) <= set(tw.read_checkpoints(ckpt_path)), 10,
                 "checkpoints of both files", alive=run1.skiff)
        time.sleep(delay)
        run1.skiff.proc.send_signal(signal.SIGKILL)
        run1.skiff.wait_exit(10, "after SIGKILL")
        checkpoints = tw.read_checkpoints(ckpt_path)
        time.sleep(0.5)
        run2 = TailRun(self, self.tmp, self.input(), out=out2, run="run2")
        time.sleep(1.0)
        totals = {w.name: w.stop() for w in writers}

        first = tw.Delivered.from_file(out1)
        report = []
        expected2 = {}
        resume_at = {}
        for w in writers:
            self.assertIn(ids[w.name], checkpoints, f"{w.name}: no checkpoint at the kill")
            offset = checkpoints[ids[w.name]][0]
            starts = {pos: seq for gen, seq, pos in w.lines}
            ends = [pos for _, _, pos in w.lines[1:]] + [w.file_pos]
            self.assertTrue(offset == 0 or offset in starts or offset == w.file_pos,
                            f"{w.name}: checkpoint {offset} is not at a line boundary")
            resume = starts.get(offset, totals[w.name])
            resume_at[w.name] = resume
            expected2[w.name] = range(resume, totals[w.name])
            got1 = first.seqs(w.name)
            self.assertEqual(got1, list(range(len(got1))),
                             f"{w.name}: first run did not deliver a prefix in order once: "
                             f"{tw.ranges(got1)}")
            delivered_end = ends[len(got1) - 1] if got1 else 0
            self.assertLessEqual(offset, delivered_end,
                                 f"{w.name}: checkpoint {offset} is past the end of what was "
                                 f"delivered ({len(got1)} lines, offset {delivered_end}): "
                                 f"lines {len(got1)}..{resume - 1} would be lost")
            dups = max(0, len(got1) - resume)
            report.append(f"{w.name}: {len(got1)} delivered before the kill, checkpoint at "
                          f"line {resume} (offset {offset}), {dups} duplicates"
                          + (f" (seq {resume}-{len(got1) - 1})" if dups else ""))
        print(f"\n  SIGKILL {delay:.2f}s after the first checkpoints: " + "; ".join(report),
              end=" ", flush=True)

        run2.wait_delivered(sum(len(r) for r in expected2.values()), expected=expected2)
        time.sleep(0.3)
        run2.stop()
        tw.assert_exactly_once(self, out2, expected2, what="second run (after SIGKILL)")

    def test_files_replaced_while_stopped(self):
        """read_from_head true. While skiff is stopped (after SIGTERM), a.log
        (20 lines, checkpointed at its end) is deleted and a new a.log of 200
        lines is created, usually on the same inode, and c.log appears.
        After the restart the new a.log is read from its start (its first
        bytes differ from the checkpointed file's), and so is c.log."""
        inp = tail_input(os.path.join(self.logs, "*.log"), read_from_head=True)
        old = tw.SeqFile(os.path.join(self.logs, "a.log"))
        old.append(20)
        run1 = TailRun(self, self.tmp, inp, run="run1")
        run1.wait_delivered(20, expected={"a": 20})
        run1.stop()
        old_ino = os.stat(old.path).st_ino
        os.unlink(old.path)
        new = tw.SeqFile(old.path, name="anew")
        new.append(200)
        reused = os.stat(new.path).st_ino == old_ino
        tw.SeqFile(os.path.join(self.logs, "c.log")).append(10)
        run2 = TailRun(self, self.tmp, inp, run="run2")
        expected = {"a": 20, "anew": 200, "c": 10}
        run2.wait_delivered(230, expected=expected)
        time.sleep(0.3)
        run2.stop()
        print(f"\n  inode {'reused' if reused else 'not reused'}", end=" ", flush=True)
        tw.assert_exactly_once(self, run2.out, expected)

    def test_file_created_while_stopped(self):
        """With read_from_head false, only the files found at the very first
        start begin at their end: a file created while skiff was stopped (a
        pod started during an upgrade) is read from its start, and the file
        that existed before the first start skips its old lines."""
        old = tw.SeqFile(os.path.join(self.logs, "old.log"))
        old.append(5)
        run1 = TailRun(self, self.tmp, self.input(), run="run1")
        run1.wait_watched(1)
        old.append(5)
        run1.wait_delivered(5)
        run1.stop()
        new = tw.SeqFile(os.path.join(self.logs, "new.log"))
        new.append(10)
        run2 = TailRun(self, self.tmp, self.input(), run="run2")
        run2.wait_delivered(15)
        time.sleep(0.3)
        run2.stop()
        delivered = tw.Delivered.from_file(run2.out)
        self.assertEqual(delivered.bad, [])
        self.assertEqual(delivered.seqs("old"), list(range(5, 10)))
        self.assertEqual(delivered.seqs("new"), list(range(10)))

    def test_corrupt_checkpoint_file(self):
        """A checkpoint file that does not decode is renamed to .corrupt and
        logged; skiff runs, follows the file, and saves a good checkpoint
        file again. The offsets are lost, so the file is read again from its
        start: its first lines arrive twice, nothing is lost."""
        inp = self.input()
        run1 = TailRun(self, self.tmp, inp, run="run1")
        f = tw.SeqFile(os.path.join(self.logs, "a.log"))
        f.append(10)
        run1.wait_delivered(10, expected={"a": 10})
        run1.stop()
        ckpt = tw.checkpoint_path(self.tmp)
        with open(ckpt, "w") as handle:
            handle.write("skiff-tail-checkpoints 1\n1 2 garbage\n")
        run2 = TailRun(self, self.tmp, inp, run="run2")
        run2.wait_watched(1)
        f.append(10)
        run2.wait_delivered(30)
        time.sleep(0.8)  # a checkpoint interval
        stderr = run2.stderr()
        run2.stop()
        self.assertTrue(os.path.exists(ckpt + ".corrupt"), "no .corrupt file")
        self.assertIn(ckpt, stderr, "the corrupt checkpoint file is not named in the log")
        self.assertEqual(len(tw.read_checkpoints(ckpt)), 1, "checkpoint file not saved again")
        delivered = tw.Delivered.from_file(run2.out)
        self.assertEqual(delivered.bad, [])
        self.assertEqual(delivered.seqs("a"), list(range(10)) + list(range(20)))


if __name__ == "__main__":
    unittest.main()
