"""The systemd input against journal files written by systemd-journal-remote
(journal_files.py): the record's shape (MESSAGE, fields, repeated and binary
fields, the time, the tag from the unit), strip_underscores and lowercase,
matches as journalctl combines them, the field limits, following new entries
from the journal's end, damaged files skipped with a message while the
healthy ones are read, and the configuration errors. Restarts, crashes and a
vacuumed checkpoint are in test_systemd_restart.py."""

import os
import time
import unittest

import harness
import journal_files as jf
from harness import Skiff, SkiffHttp, TempDir, free_port, run_cli, wait_for, write_config
from test_pipeline import read_records


class JournalCase(unittest.TestCase):
    def setUp(self):
        jf.need_journal_remote()
        self.tmp = TempDir(self)
        self.journal = self.tmp.join("journal")
        os.makedirs(self.journal)

    def run_skiff(self, inputs, outputs, port=None):
        config = harness.pipeline_config(inputs, outputs, port=port,
                                         state_dir=self.tmp.join("state"))
        skiff = Skiff(self, self.tmp, write_config(self.tmp, config))
        if port:
            SkiffHttp(skiff, port).wait_up()
        return skiff

    def out(self, name="out"):
        return self.tmp.join(f"{name}.jsonl")

    def wait_records(self, skiff, n, name="out"):
        path = self.out(name)
        wait_for(lambda: os.path.exists(path) and len(read_records(path)) >= n, 20,
                 f"{n} records in {path}", alive=skiff)
        return read_records(path)

    def stop(self, skiff):
        skiff.assert_exit(self, 0, skiff.stop())


class RecordShape(JournalCase):
    def test_fields_message_time_and_tag(self):
        """MESSAGE goes to `message`, every other field under its own name
        as a string; a field given twice is an array of its values in order;
        a binary value keeps its bytes (invalid UTF-8 becomes U+FFFD in JSON);
        the time is __REALTIME_TIMESTAMP to the microsecond; `host.*` takes
        the entry's unit, `unknown` without one."""
        jf.write(os.path.join(self.journal, "a.journal"), [
            [("seq", 1), ("usec", 1_700_000_000_123_456), ("MESSAGE", "kubelet started"),
             ("_SYSTEMD_UNIT", "kubelet.service"), ("PRIORITY", "6"), ("TAG", "x"),
             ("TAG", "y"), ("BLOB", b"\x00\xffraw\nline")],
            {"seq": 2, "MESSAGE": "pulling image", "_SYSTEMD_UNIT": "containerd.service"},
            {"seq": 3, "MESSAGE": "from the kernel", "_TRANSPORT": "kernel"},
        ])
        outputs = [{"name": "file", "match": f"host.{tag}", "path": self.out(tag)}
                   for tag in ("kubelet.service", "containerd.service", "unknown")]
        skiff = self.run_skiff([jf.systemd_input(self.journal)], outputs)
        kubelet = self.wait_records(skiff, 1, "kubelet.service")
        containerd = self.wait_records(skiff, 1, "containerd.service")
        kernel = self.wait_records(skiff, 1, "unknown")
        self.stop(skiff)

        self.assertEqual(len(kubelet), 1)
        record = kubelet[0]
        self.assertEqual(record["@timestamp"], "2023-11-14T22:13:20.123456000Z")
        self.assertEqual(record["message"], "kubelet started")
        self.assertNotIn("MESSAGE", record)
        self.assertEqual(record["_SYSTEMD_UNIT"], "kubelet.service")
        self.assertEqual(record["PRIORITY"], "6")
        self.assertEqual(record["TAG"], ["x", "y"])
        self.assertEqual(record["BLOB"], "\u0000\ufffdraw\nline")
        self.assertEqual(record["_BOOT_ID"], jf.BOOT_ID)
        # The journal's own addresses are not fields (as in Fluent Bit).
        for address in ("__CURSOR", "__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP"):
            self.assertNotIn(address, record)
        self.assertEqual([r["message"] for r in containerd], ["pulling image"])
        self.assertEqual([r["message"] for r in kernel], ["from the kernel"])

    def test_strip_underscores_lowercase_and_message_key(self):
        """strip_underscores removes one leading '_', lowercase lowers the
        names; two names that become one make an array, as a repeated field
        does; message_key "" keeps MESSAGE a field like the others (Fluent
        Bit's shape, here lower-cased)."""
        jf.write(os.path.join(self.journal, "a.journal"), [
            [("seq", 1), ("MESSAGE", "hello"), ("_SYSTEMD_UNIT", "kubelet.service"),
             ("_PID", "42"), ("PID", "7"), ("SYSLOG_IDENTIFIER", "kubelet")],
        ])
        inputs = [jf.systemd_input(self.journal, alias="both", tag="a",
                                   strip_underscores=True, lowercase=True),
                  jf.systemd_input(self.journal, alias="strip", tag="b",
                                   strip_underscores=True),
                  jf.systemd_input(self.journal, alias="fluentbit", tag="c", lowercase=True,
                                   message_key="")]
        outputs = [{"name": "file", "match": t, "path": self.out(t)} for t in ("a", "b", "c")]
        skiff = self.run_skiff(inputs, outputs)
        both, strip, fluentbit = (self.wait_records(skiff, 1, t)[0] for t in ("a", "b", "c"))
        self.stop(skiff)

        self.assertEqual(both["message"], "hello")
        self.assertEqual(both["systemd_unit"], "kubelet.service")
        self.assertEqual(sorted(both["pid"]), ["42", "7"])
        self.assertEqual(both["syslog_identifier"], "kubelet")
        self.assertEqual(strip["SYSTEMD_UNIT"], "kubelet.service")
        self.assertIn("BOOT_ID", strip)
        self.assertNotIn("_SYSTEMD_UNIT", strip)
        self.assertEqual(fluentbit["message"], "hello")
        self.assertEqual(fluentbit["_systemd_unit"], "kubelet.service")
        self.assertEqual(fluentbit["_pid"], "42")
        self.assertEqual(fluentbit["pid"], "7")


class Matches(JournalCase):
    def test_or_within_a_field_and_across_fields(self):
        """Values of one field are ORed, different fields ANDed, as
        journalctl does; match_any ORs everything (Fluent Bit's default
        Systemd_Filter_Type)."""
        entries = (jf.unit_entries("kubelet.service", 0, 3) +
                   jf.unit_entries("containerd.service", 10, 3, PRIORITY="3") +
                   jf.unit_entries("sshd.service", 20, 3, PRIORITY="3"))
        jf.write(os.path.join(self.journal, "a.journal"), entries)
        units = ["_SYSTEMD_UNIT=kubelet.service", "_SYSTEMD_UNIT=containerd.service"]
        inputs = [jf.systemd_input(self.journal, alias="either", tag="either", matches=units),
                  jf.systemd_input(self.journal, alias="both", tag="both",
                                   matches=units + ["PRIORITY=3"]),
                  jf.systemd_input(self.journal, alias="any", tag="any", match_any=True,
                                   matches=["_SYSTEMD_UNIT=kubelet.service", "PRIORITY=3"])]
        outputs = [{"name": "file", "match": t, "path": self.out(t)}
                   for t in ("either", "both", "any")]
        skiff = self.run_skiff(inputs, outputs)
        self.wait_records(skiff, 6, "either")
        self.wait_records(skiff, 3, "both")
        self.wait_records(skiff, 9, "any")
        time.sleep(0.5)
        self.stop(skiff)

        def units_of(name):
            return sorted({r["_SYSTEMD_UNIT"] for r in read_records(self.out(name))})
        self.assertEqual(len(read_records(self.out("either"))), 6)
        self.assertEqual(units_of("either"), ["containerd.service", "kubelet.service"])
        self.assertEqual(len(read_records(self.out("both"))), 3)
        self.assertEqual(units_of("both"), ["containerd.service"])
        self.assertEqual(len(read_records(self.out("any"))), 9)
        self.assertIn("entries: (_SYSTEMD_UNIT=kubelet.service OR "
                      "_SYSTEMD_UNIT=containerd.service) AND PRIORITY=3", skiff.stderr_text())


class Limits(JournalCase):
    def test_max_fields_and_max_field_size(self):
        """Fields past max_fields are left out and values past
        max_field_size are cut (not inside a UTF-8 character), each counted;
        MESSAGE is kept whatever max_fields says."""
        fields = [("seq", 1), ("MESSAGE", "m" * 1500)] + [(f"F{i:02d}", str(i)) for i in range(10)]
        fields.append(("BIG", "é" * 1000))  # 2000 bytes
        jf.write(os.path.join(self.journal, "a.journal"), [fields])
        port = free_port()
        skiff = self.run_skiff([jf.systemd_input(self.journal, max_fields=4,
                                                 max_field_size="1KiB")],
                               [{"name": "file", "match": "*", "path": self.out()}], port=port)
        record = self.wait_records(skiff, 1)[0]
        http = SkiffHttp(skiff, port)
        samples = http.metrics()
        self.stop(skiff)

        self.assertEqual(record["message"], "m" * 1024)
        own = [k for k in record if k not in ("@timestamp", "message")]
        self.assertEqual(len(own), 4, own)
        # _BOOT_ID + F00..F09 + BIG = 12 fields, 4 kept.
        self.assertEqual(harness.metric(samples, "skiff_systemd_fields_cut_total",
                                        instance="systemd.0", reason="max_fields"), 8)
        cut = harness.metric(samples, "skiff_systemd_fields_cut_total", instance="systemd.0",
                             reason="max_field_size")
        self.assertGreaterEqual(cut, 1)
        if "BIG" in record:
            self.assertEqual(record["BIG"], "é" * 512)


class Following(JournalCase):
    def test_first_start_at_the_end_then_new_entries(self):
        """Without read_from_head, a first start skips what the journal holds
        and reads what is written after, woken by the journal's descriptor."""
        path = os.path.join(self.journal, "a.journal")
        jf.write(path, jf.unit_entries("kubelet.service", 0, 5))
        skiff = self.run_skiff([jf.systemd_input(self.journal, read_from_head=False)],
                               [{"name": "file", "match": "*", "path": self.out()}])
        wait_for(lambda: "at the journal's end" in skiff.stderr_text(), 10, "the start line",
                 alive=skiff)
        jf.write(path, jf.unit_entries("kubelet.service", 5, 5))
        records = self.wait_records(skiff, 5)
        time.sleep(0.5)
        self.stop(skiff)
        self.assertEqual([r["message"] for r in read_records(self.out())],
                         [f"kubelet.service line {n}" for n in range(5, 10)])
        self.assertEqual(len(records), 5)

    def test_damaged_files_are_skipped_with_a_message(self):
        """A journal file with a damaged header and one cut short are
        skipped, each named once with sd_journal_open_files' error and
        counted; the healthy file is read, and a damaged file that appears
        later is reported too (at the next change of the journal)."""
        jf.write(os.path.join(self.journal, "good.journal"), jf.unit_entries("kubelet.service",
                                                                               0, 10))
        for name in ("header.journal", "short.journal", "later.journal"):
            jf.write(self.tmp.join(name), jf.unit_entries("containerd.service", 100, 3))
        with open(self.tmp.join("header.journal"), "r+b") as f:
            f.write(b"XXXXXXXX")  # the signature "LPKSHHRH"
        os.truncate(self.tmp.join("short.journal"), 1000)
        os.truncate(self.tmp.join("later.journal"), 4096)
        for name in ("header.journal", "short.journal"):
            os.rename(self.tmp.join(name), os.path.join(self.journal, name))
        port = free_port()
        skiff = self.run_skiff([jf.systemd_input(self.journal)],
                               [{"name": "file", "match": "*", "path": self.out()}], port=port)
        self.wait_records(skiff, 10)
        os.rename(self.tmp.join("later.journal"), os.path.join(self.journal, "later.journal"))
        # Files are looked for again when the journal changes, at most every 2 s.
        time.sleep(2.2)
        jf.write(os.path.join(self.journal, "good.journal"),
                 jf.unit_entries("kubelet.service", 10, 1))
        wait_for(lambda: "later.journal: sd_journal_open_files" in skiff.stderr_text(), 10,
                 "the later damaged file reported", alive=skiff)
        http = SkiffHttp(skiff, port)
        skipped = http.value("skiff_systemd_files_skipped_total", instance="systemd.0")
        time.sleep(0.3)
        self.stop(skiff)

        stderr = skiff.stderr_text()
        self.assertIn("header.journal: sd_journal_open_files: Bad message", stderr)
        self.assertIn("short.journal: sd_journal_open_files: No data available", stderr)
        for name in ("header.journal", "short.journal", "later.journal"):
            self.assertEqual(stderr.count(f"{name}: sd_journal_open_files"), 1, stderr)
        self.assertEqual(skipped, 3)
        records = read_records(self.out())
        self.assertEqual(sorted(r["message"] for r in records),
                         sorted(f"kubelet.service line {n}" for n in range(11)))


class Configuration(unittest.TestCase):
    def test_bad_matches_and_path_are_refused_with_their_line(self):
        tmp = TempDir(self)
        text = ("pipeline:\n"
                "  inputs:\n"
                "    - name: systemd\n"
                "      path: var/log/journal\n"
                "      matches:\n"
                "        - _SYSTEMD_UNIT=kubelet.service\n"
                "        - _systemd_unit=containerd.service\n"
                "        - kubelet\n"
                "  outputs: [ { name: null, match: '*' } ]\n")
        result = run_cli(["--dry-run", "-c", write_config(tmp, text)])
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("skiff.yaml:4:13: inputs[0] (systemd): option 'path': 'var/log/journal' "
                      "is not an absolute folder", result.stderr)
        self.assertIn("skiff.yaml:7:11: inputs[0] (systemd): option 'matches': "
                      "'_systemd_unit': journal field names are upper case (did you mean "
                      "'_SYSTEMD_UNIT'?)", result.stderr)
        self.assertIn("skiff.yaml:8:11: inputs[0] (systemd): option 'matches': 'kubelet' is not "
                      "FIELD=value", result.stderr)

    def test_missing_folder_stops_the_start(self):
        tmp = TempDir(self)
        config = harness.pipeline_config(
            [{"name": "systemd", "path": tmp.join("nowhere")}],
            [{"name": "null", "match": "*"}], state_dir=tmp.join("state"))
        skiff = Skiff(self, tmp, write_config(tmp, config))
        rc = skiff.wait_exit(20)
        self.assertEqual(rc, 1, skiff.stderr_text())
        self.assertIn(f"path {tmp.join('nowhere')}: sd_journal_open_directory: No such file or "
                      "directory", skiff.stderr_text())


if __name__ == "__main__":
    unittest.main()
