"""Filesystem storage in the running agent: chunks on disk survive SIGKILL and
are delivered first at the next start; damaged chunk files are moved aside and
what they still hold is delivered; an outage buffers on disk with memory
bounded; max_size pauses the inputs; write and fsync failures keep chunks in
memory without losing or repeating a line."""

import base64
import os
import random
import signal
import subprocess
import time
import unittest

import harness
from harness import PipeCollector, Skiff, SkiffHttp, TempDir, wait_for
import tail_writer as tw
from tail_writer import SeqWriter, tail_input

HERE = os.path.dirname(os.path.abspath(__file__))
OUTAGE_SECONDS = float(os.environ.get("SKIFF_OUTAGE_SECONDS", "60"))


def storage_config(tmp, inputs, outputs, port, storage=None, **service):
    if isinstance(inputs, dict):
        inputs = [inputs]
    config = harness.pipeline_config(inputs, outputs, port=port, state_dir=tmp.join("state"),
                                     **service)
    config["service"]["storage"] = dict({"type": "filesystem"}, **(storage or {}))
    return config


# A chunk file of format version 1 (one chunk per file), as the version
# before packs wrote it (commit 01ddc88: tail.0 -> output "out", eight lines
# "file=v1 gen=0 seq=0..7"); tests/unit/chunk_file_v1_fixture.h holds the
# same bytes.
V1_CHUNK_FILE = base64.b64decode(
    "U0tJRkZDSEsBABAAAAAAALQAAAABAAAAAAAAAAYAAAB0YWlsLjAmAAAAa3ViZS50bXAuc2tpZmYtaXQtZDJhdGxf"
    "ZjUubG9ncy52MS5sb2cBAAAAAwAAAG91dAABAAAAUWmg8dACTR60BAAAAAAAAAEAAAAEAAAAcGF0aCQAAAAFIi90"
    "bXAvc2tpZmYtaXQtZDJhdGxfZjUvbG9ncy92MS5sb2cIAAAAfMSFGW+zOl6o0WAiVABEpZUbLte3e8C3vOQDIDgJ"
    "aqw+dYBgAAYAAAAAAACXAAAAU1ATawAAAADrjTcfUWmg8dACTR5yAAAAAAAAAAEAAAEDbG9nBXFmaWxlPXYxIGdl"
    "bj0wIHNlcT0wMDAwMDAwMCBjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU2Nzg5LV8uOi8gQUJDREVGR0hJ"
    "SktMTU5PUFFSU1RVVldYWVoiXAlhYmNkZWZnaGlqa2xtfGVuZOcAAABTUBNrAAAAAAa6Nx9RaaDx0AJNHjMBAAAA"
    "AAAAAQAAAQNsb2cFwAFmaWxlPXYxIGdlbj0wIHNlcT0wMDAwMDAwMSBwcXJzdHV2d3h5ejAxMjM0NTY3ODktXy46"
    "LyBBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWiJcCWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1Njc4"
    "OS1fLjovIEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaIlwJYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIz"
    "NDU2N3xlbmSVAAAAU1ATawAAAAASvzcfUWmg8dACTR6jAQAAAAAAAAEAAAEDbG9nBW9maWxlPXYxIGdlbj0wIHNl"
    "cT0wMDAwMDAwMiAyMzQ1Njc4OS1fLjovIEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaIlwJYWJjZGVmZ2hpamts"
    "bW5vcHFyc3R1dnd4eXowMTIzNDU2Nzg5LXxlbmTlAAAAU1ATawAAAADdzTcfUWmg8dACTR5iAgAAAAAAAAEAAAED"
    "bG9nBb4BZmlsZT12MSBnZW49MCBzZXE9MDAwMDAwMDMgIEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaIlwJYWJj"
    "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU2Nzg5LV8uOi8gQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoi"
    "XAlhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODktXy46LyBBQkNERUZHSElKS0xNTk9QfGVuZJMA"
    "AABTUBNrAAAAAMjPNx9RaaDx0AJNHtACAAAAAAAAAQAAAQNsb2cFbWZpbGU9djEgZ2VuPTAgc2VxPTAwMDAwMDA0"
    "IE1OT1BRUlNUVVZXWFlaIlwJYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU2Nzg5LV8uOi8gQUJDREVG"
    "R0hJSktMTU5PUFFSU3xlbmTjAAAAU1ATawAAAAA70TcfUWmg8dACTR6NAwAAAAAAAAEAAAEDbG9nBbwBZmlsZT12"
    "MSBnZW49MCBzZXE9MDAwMDAwMDUgWiJcCWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1Njc4OS1fLjov"
    "IEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaIlwJYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU2Nzg5"
    "LV8uOi8gQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoiXAlhYmNkZWZnaGlqa3xlbmSRAAAAU1ATawAAAAD00jcf"
    "UWmg8dACTR75AwAAAAAAAAEAAAEDbG9nBWtmaWxlPXYxIGdlbj0wIHNlcT0wMDAwMDAwNiBqa2xtbm9wcXJzdHV2"
    "d3h5ejAxMjM0NTY3ODktXy46LyBBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWiJcCWFiY2RlZmdoaWprbG1ufGVu"
    "ZOEAAABTUBNrAAAAAF3UNx9RaaDx0AJNHrQEAAAAAAAAAQAAAQNsb2cFugFmaWxlPXYxIGdlbj0wIHNlcT0wMDAw"
    "MDAwNyB3eHl6MDEyMzQ1Njc4OS1fLjovIEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaIlwJYWJjZGVmZ2hpamts"
    "bW5vcHFyc3R1dnd4eXowMTIzNDU2Nzg5LV8uOi8gQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoiXAlhYmNkZWZn"
    "aGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3OHxlbmTVcbP24AYAAAAAAAA=")


def chunk_files(tmp):
    folder = tmp.join("state", "chunks")
    return sorted((f for f in os.listdir(folder) if f.endswith(".chunk")),
                  key=lambda f: int(f.split(".")[0])) if os.path.isdir(folder) else []


class Run:
    """One skiff process of a test: config written into its own folder,
    /metrics on a free port, waits until /readyz answers."""

    def __init__(self, test, tmp, inputs, outputs, name, stdout=None, env=None, storage=None,
                 **service):
        self.port = harness.free_port()
        self.dir = tw._RunDir(tmp, name)
        config = storage_config(tmp, inputs, outputs, self.port, storage, **service)
        path = harness.write_config(self.dir, config)
        self.skiff = Skiff(test, self.dir, path, stdout=stdout, env=env)
        self.http = SkiffHttp(self.skiff, self.port)
        self.http.wait_up()
        wait_for(lambda: self.http.get("/readyz", timeout=2.0)[0] == 200, 15, "/readyz",
                 alive=self.skiff)

    def value(self, name, **labels):
        return self.http.value(name, **labels)

    def kill(self):
        self.skiff.proc.send_signal(signal.SIGKILL)
        self.skiff.wait_exit(10, "after SIGKILL")


def blocked_pipe():
    """A pipe whose read end is held but not read: writes to it soon block,
    like an output that stopped taking data."""
    read_end, write_end = os.pipe()
    return read_end, write_end


# Chunk files name the outputs they are owed to by alias: the same alias in
# every run, whatever the plugin, so a restart delivers to the same place.
def full_pipe():
    """A pipe already full: the first write of a process given its write end
    blocks, like an output that takes nothing at all."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        while True:
            os.write(write_end, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(write_end, True)
    return read_end, write_end


def file_output(path):
    return [{"name": "file", "alias": "out", "match": "*", "path": path}]


def stdout_output():
    return [{"name": "stdout", "alias": "out", "match": "*"}]


class CrashSafety(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir(self)
        self.logs = self.tmp.join("logs")
        os.makedirs(self.logs)

    def input(self, **options):
        return tail_input(os.path.join(self.logs, "*.log"), read_from_head=True, **options)

    def test_twenty_sigkills_lose_nothing(self):
        """tail -> file with filesystem storage while two files get 1,000
        lines/s each. skiff is SIGKILLed at 20 random moments and started
        again each time. In the end every line is delivered; duplicates come
        only from the window after the last saved checkpoint, so each kill
        rewinds a file at most twice (re-read after the checkpoint, a chunk
        delivered but not yet removed). The duplicate count is printed."""
        out = self.tmp.join("out.jsonl")
        writers = [SeqWriter(os.path.join(self.logs, f"{n}.log"), rate=1000) for n in "ab"]
        for w in writers:
            w.start()
        rng = random.Random()
        kills = 20
        for i in range(kills):
            run = Run(self, self.tmp, self.input(checkpoint_interval="200ms"), file_output(out),
                      f"run{i}")
            time.sleep(rng.uniform(0.1, 1.0))
            run.kill()
        final = Run(self, self.tmp, self.input(), file_output(out), "final")
        totals = {w.name: w.stop() for w in writers}
        expected = {name: range(total) for name, total in totals.items()}
        tw.wait_delivered(out, sum(totals.values()), 60, final.skiff)
        # Whatever is still on disk is delivered before the count settles.
        wait_for(lambda: final.value("skiff_storage_disk_chunks") == 0, 30, "disk drained",
                 alive=final.skiff)
        final.skiff.assert_exit(self, 0, final.skiff.stop())

        delivered = tw.Delivered.from_file(out)
        self.assertEqual(delivered.bad, [])
        duplicates = 0
        for name, want in expected.items():
            seqs = delivered.seqs(name)
            missing = sorted(set(want) - set(seqs))
            self.assertEqual(missing, [], f"{name}: lost lines {tw.ranges(missing)}")
            duplicates += len(seqs) - len(set(seqs))
            rewinds = sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a)
            self.assertLessEqual(rewinds, 2 * kills, f"{name}: {rewinds} rewinds")
        print(f"\n  {kills} SIGKILLs, {sum(totals.values())} lines: "
              f"{duplicates} duplicates, none lost", end=" ")

    def test_sigkills_with_packs_of_many_files(self):
        """Packs: 40 files get 50 lines/s each, so every 200 ms flush writes
        the chunks of many files as one pack. skiff is SIGKILLed at 15 random
        moments (before, during and after pack writes, done marks and
        removals) and started again each time. Every line is delivered, and
        fewer files than chunks were written (chunks went to disk together)."""
        out = self.tmp.join("out.jsonl")
        writers = [SeqWriter(os.path.join(self.logs, f"m{n:02d}.log"), rate=50)
                   for n in range(40)]
        for w in writers:
            w.start()
        rng = random.Random()
        kills = 15
        for i in range(kills):
            run = Run(self, self.tmp, self.input(checkpoint_interval="200ms"), file_output(out),
                      f"run{i}", flush_interval="200ms")
            time.sleep(rng.uniform(0.2, 1.2))
            run.kill()
        final = Run(self, self.tmp, self.input(), file_output(out), "final",
                    flush_interval="200ms")
        time.sleep(1.0)
        totals = {w.name: w.stop() for w in writers}
        tw.wait_delivered(out, sum(totals.values()), 60, final.skiff)
        wait_for(lambda: final.value("skiff_storage_disk_chunks") == 0, 30, "disk drained",
                 alive=final.skiff)
        files = final.value("skiff_storage_files_written_total")
        loads = final.value("skiff_storage_loads_total")
        final.skiff.assert_exit(self, 0, final.skiff.stop())
        self.assertGreater(files, 0)
        delivered = tw.Delivered.from_file(out)
        self.assertEqual(delivered.bad, [])
        for name, total in totals.items():
            missing = sorted(set(range(total)) - set(delivered.seqs(name)))
            self.assertEqual(missing, [], f"{name}: lost lines {tw.ranges(missing)}")
        self.assertEqual(os.listdir(self.tmp.join("state", "chunks")), [])
        print(f"\n  {kills} SIGKILLs, 40 files, {sum(totals.values())} lines, last run "
              f"{files:.0f} pack files, {loads:.0f} loads", end=" ")

    def test_version_1_chunk_file_replays_after_upgrade(self):
        """A chunk file the previous version wrote (format 1, one chunk) is
        in state_dir/chunks when this version starts: its eight lines are
        delivered once, and the file is removed."""
        chunks = self.tmp.join("state", "chunks")
        os.makedirs(chunks)
        with open(os.path.join(chunks, "1.chunk"), "wb") as f:
            f.write(V1_CHUNK_FILE)
        out = self.tmp.join("out.jsonl")
        run = Run(self, self.tmp, self.input(), file_output(out), "run")
        tw.wait_delivered(out, 8, 20, run.skiff)
        wait_for(lambda: run.value("skiff_storage_disk_chunks") == 0, 10, "disk drained",
                 alive=run.skiff)
        replayed = run.value("skiff_storage_replayed_chunks_total")
        run.skiff.assert_exit(self, 0, run.skiff.stop())
        self.assertEqual(replayed, 1)
        self.assertEqual(tw.Delivered.from_file(out).seqs("v1"), list(range(8)))
        self.assertEqual(os.listdir(chunks), [])
        self.assertNotIn("corrupt", run.skiff.stderr_text())

    def test_done_marks_resend_only_to_the_output_that_was_down(self):
        """Two outputs: "a" (a file) takes everything, "b" (stdout into a
        pipe nobody reads) is down. 30 files of 100 lines, so packs of many
        chunks. Once "a" has every line, skiff is SIGKILLed; the next start,
        with both working, sends every line to "b" and none again to "a":
        the done marks in the packs say "a" took them."""
        for i in range(30):
            tw.SeqFile(os.path.join(self.logs, f"d{i:02d}.log")).append(100)
        out_a, out_b = self.tmp.join("a.jsonl"), self.tmp.join("b.jsonl")
        read_end, write_end = full_pipe()
        self.addCleanup(os.close, read_end)
        filler = {"name": "stdout", "alias": "b", "match": "*"}
        try:
            run1 = Run(self, self.tmp, self.input(checkpoint_interval="200ms"),
                       [file_output(out_a)[0] | {"alias": "a"}, filler], "run1",
                       stdout=write_end, flush_interval="200ms")
        finally:
            os.close(write_end)
        tw.wait_delivered(out_a, 3000, 20, run1.skiff)
        time.sleep(1.0)  # the marks of the last completions, the checkpoint
        run1.kill()
        self.assertGreater(len(chunk_files(self.tmp)), 0)
        size_a = os.path.getsize(out_a)

        run2 = Run(self, self.tmp, self.input(), [file_output(out_a)[0] | {"alias": "a"},
                                                  file_output(out_b)[0] | {"alias": "b"}],
                   "run2")
        expected = {f"d{i:02d}": 3000 // 30 for i in range(30)}
        tw.wait_delivered(out_b, 3000, 30, run2.skiff)
        wait_for(lambda: run2.value("skiff_storage_disk_chunks") == 0, 10, "disk drained",
                 alive=run2.skiff)
        run2.skiff.assert_exit(self, 0, run2.skiff.stop())
        self.assertEqual(os.path.getsize(out_a), size_a, "lines sent again to a")
        tw.assert_exactly_once(self, out_b, expected)
        tw.assert_exactly_once(self, out_a, expected)

    def test_chunks_on_disk_are_sent_first_and_damage_is_quarantined(self):
        """Run 1 reads 6,000 lines into an output that takes nothing, so the
        chunks wait on disk; it is SIGKILLed. Then the last chunk file is cut
        in the middle of its records, a garbage .chunk file and a stale
        .chunk.tmp are added. Run 2, into a working output: the .tmp is
        removed, both bad files are moved to corrupt/ and counted, and every
        line arrives once, in order, except the records after the cut."""
        tw.SeqFile(os.path.join(self.logs, "a.log")).append(6000)
        read_end, write_end = blocked_pipe()
        self.addCleanup(os.close, read_end)
        try:
            # buffer_limit 256KiB: chunks of at most 64 KiB, a dozen of them.
            run1 = Run(self, self.tmp, self.input(buffer_limit="256KiB"), stdout_output(), "run1",
                       stdout=write_end, flush_interval="100ms")
        finally:
            os.close(write_end)
        wait_for(lambda: len(chunk_files(self.tmp)) >= 3, 20, "3 chunk files",
                 alive=run1.skiff)
        checkpoints = tw.checkpoint_path(self.tmp)
        wait_for(lambda: tw.read_checkpoints(checkpoints), 10, "a checkpoint", alive=run1.skiff)
        run1.kill()

        chunks = self.tmp.join("state", "chunks")
        names = chunk_files(self.tmp)
        damaged = os.path.join(chunks, names[-1])
        size = os.path.getsize(damaged)
        with open(damaged, "r+b") as f:
            f.truncate(size * 2 // 3)
        last_id = int(names[-1].split(".")[0])
        with open(os.path.join(chunks, f"{last_id + 1}.chunk"), "wb") as f:
            f.write(os.urandom(300))
        with open(os.path.join(chunks, f"{last_id + 2}.chunk.tmp"), "wb") as f:
            f.write(b"half written")

        out = self.tmp.join("out.jsonl")
        run2 = Run(self, self.tmp, self.input(), file_output(out), "run2")
        wait_for(lambda: run2.value("skiff_storage_disk_chunks") == 0 and
                 run2.value("skiff_input_buffer_bytes", instance="tail.0") == 0, 30,
                 "everything delivered", alive=run2.skiff)
        corrupt = run2.value("skiff_storage_corrupt_chunks_total")
        run2.skiff.assert_exit(self, 0, run2.skiff.stop())

        self.assertEqual(corrupt, 2)
        self.assertEqual(sorted(os.listdir(self.tmp.join("state", "corrupt"))),
                         sorted([names[-1], f"{last_id + 1}.chunk"]))
        self.assertEqual(os.listdir(chunks), [])
        log = run2.skiff.stderr_text()
        self.assertIn("removed 1 unfinished chunk files", log)
        self.assertIn("records before the damage are delivered", log)
        seqs = tw.Delivered.from_file(out).seqs("a")
        self.assertEqual(len(seqs), len(set(seqs)), "duplicates")
        self.assertEqual(seqs, sorted(seqs), "out of order")
        missing = sorted(set(range(6000)) - set(seqs))
        # Only the cut-off end of one chunk (64 KiB, ~500 lines) is missing:
        # one contiguous range, counted in the log.
        self.assertTrue(missing, "the cut chunk lost nothing?")
        self.assertLess(len(missing), 600, tw.ranges(missing))
        self.assertEqual(missing, list(range(missing[0], missing[-1] + 1)), tw.ranges(missing))
        self.assertNotIn("no longer configured", log)


class CleanStop(unittest.TestCase):
    def test_sigterm_leaves_undelivered_chunks_on_disk(self):
        """Filesystem storage, 8,000 lines, an output that takes nothing:
        SIGTERM ends skiff with exit 0 after the grace period, the chunks stay
        on disk and the checkpoint is past them. The next start, into a
        working output, delivers every line exactly once and in order: the
        chunks from disk first, then the rest of the file."""
        tmp = TempDir(self)
        logs = tmp.join("logs")
        os.makedirs(logs)
        log = tw.SeqFile(os.path.join(logs, "a.log"))
        log.append(8000)
        tail = tail_input(os.path.join(logs, "*.log"), read_from_head=True,
                          buffer_limit="256KiB")
        read_end, write_end = blocked_pipe()
        self.addCleanup(os.close, read_end)
        try:
            run1 = Run(self, tmp, tail, stdout_output(), "run1", stdout=write_end,
                       grace="1s")
        finally:
            os.close(write_end)
        run1.http.wait_value("skiff_input_records_total", lambda v: v == 8000, 20,
                             "8000 records read", instance="tail.0")
        run1.skiff.assert_exit(self, 0, run1.skiff.stop())
        self.assertIn("undelivered chunks stay on disk", run1.skiff.stderr_text())
        self.assertNotIn("were not delivered before shutdown", run1.skiff.stderr_text())
        self.assertGreater(len(chunk_files(tmp)), 0)

        log.append(2000)
        out = tmp.join("out.jsonl")
        run2 = Run(self, tmp, tail, file_output(out), "run2")
        tw.wait_delivered(out, 10000, 30, run2.skiff, expected={"a": 10000})
        replayed = run2.value("skiff_storage_replayed_chunks_total")
        wait_for(lambda: run2.value("skiff_storage_disk_chunks") == 0, 10, "disk drained",
                 alive=run2.skiff)
        run2.skiff.assert_exit(self, 0, run2.skiff.stop())
        self.assertGreater(replayed, 0)
        tw.assert_exactly_once(self, out, {"a": 10000})


class Outage(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir(self)
        self.logs = self.tmp.join("logs")
        os.makedirs(self.logs)

    def test_outage_buffers_on_disk_with_memory_bounded(self):
        """The output takes nothing for OUTAGE_SECONDS (60) while two files
        get 500 lines/s each. The input never pauses, the disk buffer grows
        (to at least half the bytes written),
        the records held in memory stay under buffer_limit plus the chunks
        the output is sending; then the output takes data again and every
        line arrives once, in order, and the disk buffer drains to zero."""
        read_end, write_end = blocked_pipe()
        try:
            run = Run(self, self.tmp, tail_input(os.path.join(self.logs, "*.log"),
                                                 read_from_head=True, buffer_limit="1MiB"),
                      stdout_output(), "run", stdout=write_end, flush_interval="200ms")
        finally:
            os.close(write_end)
        writers = [SeqWriter(os.path.join(self.logs, f"{n}.log"), rate=500) for n in "ab"]
        for w in writers:
            w.start()
        peak_memory = peak_disk = 0
        deadline = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < deadline:
            peak_memory = max(peak_memory, run.value("skiff_storage_memory_bytes"))
            peak_disk = max(peak_disk, run.value("skiff_storage_disk_bytes"))
            time.sleep(0.5)
        pauses = run.value("skiff_input_pauses_total", instance="tail.0")
        written = sum(os.path.getsize(w.path) for w in writers)
        rss = harness.proc_status(run.skiff.pid).get("VmHWM", 0) >> 20
        collector = PipeCollector(os.fdopen(read_end, "rb")).start()
        totals = {w.name: w.stop() for w in writers}
        expected_lines = sum(totals.values())
        wait_for(lambda: collector.data().count(b"\n") >= expected_lines, 60,
                 f"{expected_lines} lines after the outage", alive=run.skiff)
        wait_for(lambda: run.value("skiff_storage_disk_bytes") == 0, 30, "disk drained",
                 alive=run.skiff)
        # Once the flush timer sealed the last open chunks, nothing is held.
        wait_for(lambda: run.value("skiff_storage_memory_chunks") == 0 and
                 run.value("skiff_storage_memory_bytes") == 0, 10, "memory drained",
                 alive=run.skiff)
        run.skiff.assert_exit(self, 0, run.skiff.stop())
        collector.join(10)

        self.assertEqual(pauses, 0)
        self.assertGreater(peak_disk, written // 2)
        # 1 MiB of buffer_limit plus the chunks (256 KiB each) the output is
        # sending or about to: never the backlog.
        self.assertLess(peak_memory, (1 << 20) + 4 * (256 << 10), peak_memory)
        tw.assert_exactly_once(self, tw.Delivered(tw.parse_json_bytes(collector.data())),
                               totals)
        print(f"\n  {OUTAGE_SECONDS:.0f}s outage: {expected_lines} lines, disk peak "
              f"{int(peak_disk) >> 10} KiB, records in memory peak {int(peak_memory) >> 10} KiB, "
              f"VmHWM {rss} MiB", end=" ")

    def test_full_memory_of_open_chunks_goes_to_disk(self):
        """40 files, each its own open chunk, fill a 64 KiB buffer_limit while
        the output takes nothing and the flush timer is far away: sealing
        them for the pause puts them on disk, so the input goes on reading
        instead of staying paused for the whole outage."""
        for i in range(40):
            tw.SeqFile(os.path.join(self.logs, f"f{i:02d}.log")).append(300)
        read_end, write_end = blocked_pipe()
        self.addCleanup(os.close, read_end)
        try:
            run = Run(self, self.tmp, tail_input(os.path.join(self.logs, "*.log"),
                                                 read_from_head=True, buffer_limit="64KiB"),
                      stdout_output(), "run", stdout=write_end, flush_interval="60s")
        finally:
            os.close(write_end)
        run.http.wait_value("skiff_input_records_total", lambda v: v == 12000, 20,
                            "all 12,000 lines read during the outage", instance="tail.0")
        self.assertEqual(run.value("skiff_input_paused", instance="tail.0"), 0)
        self.assertGreater(run.value("skiff_storage_disk_chunks"), 40)
        run.kill()

    def test_max_size_pauses_inputs_until_space_frees(self):
        """With max_size 1MiB and an output that takes nothing, the disk
        buffer fills, the input pauses (skiff_input_paused 1) with the disk
        within max_size plus one chunk; when the output takes data again the
        input resumes and every line arrives once."""
        tw.SeqFile(os.path.join(self.logs, "a.log")).append(30000)
        read_end, write_end = blocked_pipe()
        try:
            run = Run(self, self.tmp, tail_input(os.path.join(self.logs, "*.log"),
                                                 read_from_head=True, buffer_limit="512KiB"),
                      stdout_output(), "run", stdout=write_end, storage={"max_size": "1MiB"})
        finally:
            os.close(write_end)
        run.http.wait_value("skiff_input_paused", lambda v: v == 1, 20, "the input paused",
                            instance="tail.0")
        time.sleep(1.0)
        disk = run.value("skiff_storage_disk_bytes")
        self.assertLessEqual(disk, (1 << 20) + (128 << 10) + 4096)
        self.assertIn("the disk buffer is full", run.skiff.stderr_text())
        collector = PipeCollector(os.fdopen(read_end, "rb")).start()
        wait_for(lambda: collector.data().count(b"\n") >= 30000, 60, "30000 lines",
                 alive=run.skiff)
        self.assertEqual(run.value("skiff_input_paused", instance="tail.0"), 0)
        run.skiff.assert_exit(self, 0, run.skiff.stop())
        collector.join(10)
        tw.assert_exactly_once(self, tw.Delivered(tw.parse_json_bytes(collector.data())),
                               {"a": 30000})


class Faults(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir(self)
        self.logs = self.tmp.join("logs")
        os.makedirs(self.logs)
        self.shim = self.tmp.join("fault_shim.so")
        build = subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", self.shim,
                                os.path.join(HERE, "shim", "fault_shim.c"), "-ldl"],
                               capture_output=True, text=True)
        if build.returncode != 0:
            self.fail(f"cannot build the fault shim: {build.stderr}")
        self.control = self.tmp.join("faults")
        self.set_fault("")

    def set_fault(self, text):
        with open(self.control + ".new", "w") as f:
            f.write(text)
        os.replace(self.control + ".new", self.control)

    def test_enospc_and_eio_on_write_and_fsync(self):
        """sync: full, a file getting 1,000 lines/s. Chunk writes fail with
        ENOSPC, then EIO, then fsyncs fail with EIO, two seconds each, then
        nothing fails. skiff logs each error once, counts the chunks it could
        not write, delivers them from memory, writes chunk files again
        afterwards, and every line arrives exactly once."""
        asan = harness.skiff_env().get("ASAN_OPTIONS", "")
        env = {"LD_PRELOAD": self.shim, "SKIFF_FAULT_FILE": self.control,
               "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}
        out = self.tmp.join("out.jsonl")
        writer = SeqWriter(os.path.join(self.logs, "a.log"), rate=1000)
        writer.start()
        run = Run(self, self.tmp, tail_input(os.path.join(self.logs, "*.log"),
                                             read_from_head=True), file_output(out), "run",
                  env=env, storage={"sync": "full"}, flush_interval="100ms")
        wait_for(lambda: len(chunk_files(self.tmp)) + harness.count_lines(out) > 0, 10,
                 "chunks written", alive=run.skiff)
        for fault in ("write ENOSPC", "write EIO", "fsync EIO"):
            self.set_fault(fault)
            time.sleep(2.0)
        errors = run.value("skiff_storage_write_errors_total")
        self.set_fault("")
        before = run.value("skiff_storage_disk_chunks") + harness.count_lines(out)
        time.sleep(1.0)
        total = writer.stop()
        tw.wait_delivered(out, total, 30, run.skiff)
        run.skiff.assert_exit(self, 0, run.skiff.stop())

        self.assertGreaterEqual(errors, 3)
        log = run.skiff.stderr_text()
        self.assertEqual(log.count("No space left on device; chunks stay in memory"), 1, log)
        self.assertEqual(log.count("Input/output error; chunks stay in memory"), 1, log)
        self.assertIn("chunk files are written to", log)
        self.assertGreater(before, 0)
        tw.assert_exactly_once(self, out, {"a": total})


if __name__ == "__main__":
    unittest.main()
