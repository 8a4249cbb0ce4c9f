"""The forward output against a fake Fluentd aggregator (fake_fluentd.py):
records arrive with their tag, nanosecond time and fields in PackedForward
and CompressedPackedForward messages, each chunk acknowledged by its id; the
shared_key handshake with and without users; TLS. Faults (no ack, a cut
connection, a failing host, a refused or forged handshake) are in
test_forward_faults.py."""

import calendar
import re
import unittest

import harness
from fake_es import make_certs
from fake_fluentd import FakeFluentd
from harness import Skiff, SkiffHttp, TempDir, free_port, run_cli, wait_for, write_config

OUT = "forward.0"
# 2026-11-23T05:00:00Z
BASE = calendar.timegm((2026, 11, 23, 5, 0, 0))


class ForwardCase(unittest.TestCase):
    def fake(self, **kwargs):
        server = FakeFluentd(**kwargs).start()
        self.addCleanup(server.stop)
        return server

    def start(self, tmp, options, count=100, lines=None, log_level="info", grace="5s"):
        """skiff tailing a file of JSON lines, each with its own time (with
        nanoseconds) and `seq`, into the forward output."""
        path = tmp.join("app.log")
        with open(path, "w") as f:
            for i in range(count):
                f.write('{"time":"2026-11-23T05:00:%02d.%09dZ","seq":%d,"msg":"line %d"}\n'
                        % (i % 60, 100000000 + i, i, i))
            for line in lines or []:
                f.write(line + "\n")
        port = free_port()
        output = {"name": "forward", "match": "*", "retry_min": "100ms", "retry_max": "500ms"}
        output.update(options)
        tail = {"name": "tail", "tag": "app.log", "path": path, "read_from_head": True,
                "parser": "timed", "refresh_interval": "200ms"}
        config = harness.pipeline_config([tail], [output], port=port, flush_interval="100ms",
                                         state_dir=tmp.join("state"), log_level=log_level,
                                         grace=grace)
        config["parsers"] = [{"name": "timed", "format": "json", "time_key": "time"}]
        skiff = Skiff(self, tmp, write_config(tmp, config))
        http = SkiffHttp(skiff, port)
        http.wait_up()
        return skiff, http

    def wait_events(self, server, skiff, n, timeout=30):
        wait_for(lambda: server.event_count() >= n, timeout, f"{n} records at the fake Fluentd",
                 alive=skiff)

    def wait_metric(self, http, name, predicate, timeout, what, **labels):
        def check():
            value = sum(harness.find_series(http.metrics(), name, **labels).values())
            return (True, value) if predicate(value) else None
        return wait_for(check, timeout, what, interval=0.1, alive=http.skiff)[1]

    def assert_each_once(self, server, n):
        seqs = sorted(server.seqs())
        self.assertEqual(seqs, list(range(n)), "records lost or duplicated")

    def stop(self, skiff):
        skiff.assert_exit(self, 0, skiff.stop())


class Delivery(ForwardCase):
    def test_packed_forward_with_tag_nanosecond_times_fields_and_acks(self):
        """Each record once, as an EventTime with its nanoseconds and its
        fields; every message a PackedForward one with a chunk id and size,
        each acknowledged; the metrics count chunks and connections."""
        tmp = TempDir(self)
        server = self.fake()
        skiff, http = self.start(tmp, {"hosts": [server.address], "max_in_flight": 1},
                                 count=120)
        self.wait_events(server, skiff, 120)
        with open(tmp.join("app.log"), "a") as f:  # a later chunk, on the same connection
            for i in range(120, 150):
                f.write('{"time":"2026-11-23T05:00:%02d.%09dZ","seq":%d,"msg":"line %d"}\n'
                        % (i % 60, 100000000 + i, i, i))
        self.wait_events(server, skiff, 150)
        self.assert_each_once(server, 150)
        with server.lock:
            events = list(server.events)
            messages = list(server.messages)
        for e in events:
            i = e["record"]["seq"]
            self.assertEqual(e["tag"], "app.log")
            self.assertEqual(e["sec"], BASE + i % 60)
            self.assertEqual(e["nsec"], 100000000 + i)
            self.assertEqual(e["record"], {"seq": i, "msg": f"line {i}",
                                           "path": tmp.join("app.log")})
        for m in messages:
            self.assertEqual(m["mode"], "PackedForward")
            self.assertEqual(len(m["options"]["chunk"]), 24)  # base64 of 16 bytes
            self.assertEqual(m["options"]["size"], m["count"])
            self.assertNotIn("compressed", m["options"])
        self.assertEqual(len({m["options"]["chunk"] for m in messages}), len(messages))
        self.wait_metric(http, "skiff_forward_chunks_total", lambda v: v == len(messages), 10,
                         "every chunk counted", instance=OUT)
        self.wait_metric(http, "skiff_output_records_total", lambda v: v == 150, 10,
                         "150 records delivered", instance=OUT)
        self.assertEqual(server.acks_sent, len(messages))
        self.assertGreaterEqual(len(messages), 2)
        self.assertEqual(server.connections, 1, "the connection is kept for the next chunks")
        self.stop(skiff)

    def test_compressed_packed_forward(self):
        """compress: gzip sends CompressedPackedForward with the option
        compressed: gzip; the records are the same."""
        tmp = TempDir(self)
        server = self.fake()
        skiff, http = self.start(tmp, {"hosts": [server.address], "compress": "gzip"}, count=80)
        self.wait_events(server, skiff, 80)
        self.assert_each_once(server, 80)
        with server.lock:
            for m in server.messages:
                self.assertEqual(m["mode"], "CompressedPackedForward")
                self.assertEqual(m["options"]["compressed"], "gzip")
            self.assertEqual(server.events[5]["nsec"], 100000005)
        self.stop(skiff)

    def test_fixed_tag_and_no_ack(self):
        """`tag` replaces the records' tag; require_ack: false sends no chunk
        id, and a chunk counts as delivered once written. `host` is a name,
        looked up off the output thread (and tried at each of its addresses:
        the fake listens on 127.0.0.1 only)."""
        tmp = TempDir(self)
        server = self.fake()
        skiff, http = self.start(tmp, {"host": "localhost", "port": server.port,
                                       "tag": "from.skiff", "require_ack": False}, count=30)
        self.wait_events(server, skiff, 30)
        self.wait_metric(http, "skiff_output_records_total", lambda v: v == 30, 10,
                         "30 records delivered", instance=OUT)
        with server.lock:
            self.assertEqual({e["tag"] for e in server.events}, {"from.skiff"})
            self.assertTrue(all("chunk" not in m["options"] for m in server.messages))
        self.assertEqual(server.acks_sent, 0)
        self.stop(skiff)

    def test_server_without_keepalive(self):
        """A HELO with keepalive false (in_forward's deny_keepalive): one
        connection per chunk, nothing lost."""
        tmp = TempDir(self)
        server = self.fake(shared_key="k", keepalive=False)
        skiff, http = self.start(tmp, {"hosts": [server.address], "shared_key": "k"}, count=60)
        self.wait_events(server, skiff, 60)
        self.assert_each_once(server, 60)
        with server.lock:
            self.assertEqual(server.connections, len(server.messages))
        self.stop(skiff)


class Handshake(ForwardCase):
    def test_shared_key_from_a_file_and_the_ping(self):
        """The key from shared_key_file; the PING names self_hostname and
        carries a 128-digit digest, never the key."""
        tmp = TempDir(self)
        server = self.fake(shared_key="0ne-shared-key")
        key_file = tmp.join("key")
        with open(key_file, "w") as f:
            f.write("0ne-shared-key\n")
        skiff, http = self.start(tmp, {"hosts": [server.address], "shared_key_file": key_file,
                                       "self_hostname": "node-7"}, count=20)
        self.wait_events(server, skiff, 20)
        with server.lock:
            ping = server.pings[0]
        self.assertEqual(ping[0], "PING")
        self.assertEqual(ping[1], "node-7")
        self.assertEqual(len(ping[3]), 128)
        # in_forward always sends an auth salt: as Fluentd's out_forward, an
        # empty username and the digest of the salt and an empty password.
        self.assertEqual(ping[4], "")
        self.assertEqual(len(ping[5]), 128)
        self.assertNotIn("0ne-shared-key", repr(ping))
        self.stop(skiff)
        self.assertNotIn("0ne-shared-key", skiff.stderr_text())

    def test_users(self):
        """A server with user_auth takes the right username and password
        (the password from a file)."""
        tmp = TempDir(self)
        server = self.fake(shared_key="k", users={"bob": "b0b-pass"})
        password_file = tmp.join("password")
        with open(password_file, "w") as f:
            f.write("b0b-pass\n")
        skiff, http = self.start(tmp, {"hosts": [server.address], "shared_key": "k",
                                       "username": "bob", "password_file": password_file},
                                 count=20)
        self.wait_events(server, skiff, 20)
        with server.lock:
            self.assertEqual(server.pings[0][4], "bob")
            self.assertEqual(len(server.pings[0][5]), 128)
        self.stop(skiff)


class Tls(ForwardCase):
    def test_tls_with_the_handshake(self):
        """TLS verified against ca_file and the address in the certificate,
        the handshake inside it."""
        tmp = TempDir(self)
        certs = make_certs(tmp.join("pki"))
        server = self.fake(shared_key="k", tls={"cert": certs["server_cert"],
                                                "key": certs["server_key"]})
        skiff, http = self.start(tmp, {"hosts": [server.address], "shared_key": "k",
                                       "tls": {"enabled": True, "ca_file": certs["ca"]}},
                                 count=40)
        self.wait_events(server, skiff, 40)
        self.assert_each_once(server, 40)
        self.stop(skiff)

    def test_a_certificate_from_another_ca_is_refused(self):
        tmp = TempDir(self)
        certs = make_certs(tmp.join("pki"))
        other = make_certs(tmp.join("other"))
        server = self.fake(tls={"cert": certs["server_cert"], "key": certs["server_key"]})
        skiff, http = self.start(tmp, {"hosts": [server.address],
                                       "tls": {"enabled": True, "ca_file": other["ca"]}},
                                 count=5)
        self.wait_metric(http, "skiff_forward_errors_total", lambda v: v >= 2, 15,
                         "TLS errors", instance=OUT, reason="tls")
        self.assertEqual(server.event_count(), 0)
        self.assertIn(f"{server.address}: TLS: the server's certificate is refused",
                      skiff.stderr_text())
        self.stop(skiff)

    def test_verify_false_warns_and_sends(self):
        tmp = TempDir(self)
        certs = make_certs(tmp.join("pki"), names=("elsewhere",), ips=())
        server = self.fake(tls={"cert": certs["server_cert"], "key": certs["server_key"]})
        skiff, http = self.start(tmp, {"hosts": [server.address],
                                       "tls": {"enabled": True, "verify": False}}, count=10)
        self.wait_events(server, skiff, 10)
        self.assertIn("tls.verify is false", skiff.stderr_text())
        self.stop(skiff)


class Config(unittest.TestCase):
    def check(self, output, expected):
        tmp = TempDir(self)
        output = dict({"name": "forward", "match": "*"}, **output)
        config = harness.pipeline_config([{"name": "dummy", "tag": "t"}], [output])
        result = run_cli(["--dry-run", "-c", write_config(tmp, config)])
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertRegex(result.stderr, r"skiff\.yaml:\d+:\d+: outputs\[0\] \(forward\): .*"
                         + re.escape(expected))
        return result.stderr

    def test_mistakes_are_named_with_their_line(self):
        self.check({}, "no server")
        self.check({"hosts": ["a:1"], "host": "b"}, "set either hosts")
        self.check({"hosts": ["a:99999"]}, "option 'hosts': 'a:99999' is not host:port")
        self.check({"host": "a:24224"}, "option 'host': 'a:24224' has a port")
        self.check({"host": "a", "username": "u", "password": "p"},
                   "username and password are checked in the shared_key handshake")
        self.check({"host": "a", "tls": {"ca_file": "/etc/hostname"}}, "TLS is off")
        self.check({"host": "a", "shared_key": ""}, "option 'shared_key' is empty")
        stderr = self.check({"host": "a", "shared_key": "t0p-secret", "shared_key_file": "/x"},
                            "set either shared_key or shared_key_file")
        self.assertNotIn("t0p-secret", stderr)

    def test_an_ipv6_host_and_a_list_pass(self):
        tmp = TempDir(self)
        output = {"name": "forward", "match": "*", "hosts": ["[::1]:24224", "agg-1", "agg-2:9"]}
        config = harness.pipeline_config([{"name": "dummy", "tag": "t"}], [output])
        result = run_cli(["--dry-run", "-c", write_config(tmp, config)])
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
