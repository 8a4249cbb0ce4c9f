"""The forward output under faults, against the fake Fluentd aggregator: a
chunk not acknowledged is sent again (and what the duplicates are), a
connection cut in the middle of a chunk loses nothing, a host that refuses
connections or never acknowledges hands its chunks to the next, and a
handshake that fails (a wrong key on either side, a refused user, one side
without a key) is an error naming the host, never the key, while the
records wait in the buffer."""

import unittest

import harness
from test_forward import OUT, ForwardCase
from harness import TempDir, free_port, wait_for


class Acks(ForwardCase):
    def test_a_chunk_without_ack_is_sent_again_and_nothing_is_lost(self):
        """The server keeps the first chunk but never acknowledges it: after
        ack_timeout it goes again, under a new chunk id. Every record
        arrives; those of the first chunk arrive twice, because the server
        had kept them: the forward protocol's acks give at-least-once, and
        a retry after a lost ack duplicates."""
        tmp = TempDir(self)
        server = self.fake(skip_acks=1)
        skiff, http = self.start(tmp, {"hosts": [server.address], "ack_timeout": "1s"},
                                 count=120)
        self.wait_metric(http, "skiff_output_records_total", lambda v: v == 120, 30,
                         "120 records acknowledged", instance=OUT)
        with server.lock:
            messages = list(server.messages)
            events = list(server.events)
        seqs = [e["record"]["seq"] for e in events]
        self.assertEqual(sorted(set(seqs)), list(range(120)), "a record was lost")
        first = [e for e in events if e["chunk"] == messages[0]["options"]["chunk"]]
        again = sorted(e["record"]["seq"] for e in first)
        twice = sorted(s for s in set(seqs) if seqs.count(s) == 2)
        self.assertEqual(twice, again, "only the unacknowledged chunk comes twice")
        self.assertEqual(len(seqs), 120 + len(again))
        chunk_ids = [m["options"]["chunk"] for m in messages]
        self.assertEqual(len(set(chunk_ids)), len(chunk_ids), "a retry has its own chunk id")
        self.wait_metric(http, "skiff_forward_errors_total", lambda v: v >= 1, 5,
                         "the ack timeout counted", instance=OUT, reason="ack_timeout")
        self.assertRegex(skiff.stderr_text(),
                         rf"{server.address}: no ack within ack_timeout \(1\.0s\); retry 1")
        self.stop(skiff)

    def test_a_connection_cut_mid_chunk_loses_nothing(self):
        """The server closes the first two connections halfway through a
        chunk (before reading it whole, so it keeps nothing of it): the
        chunk goes again on a new connection, every record once."""
        tmp = TempDir(self)
        server = self.fake(cut_first=2)
        skiff, http = self.start(tmp, {"hosts": [server.address]}, count=100)
        self.wait_events(server, skiff, 100)
        self.wait_metric(http, "skiff_output_records_total", lambda v: v == 100, 10,
                         "100 records acknowledged", instance=OUT)
        self.assert_each_once(server, 100)
        self.assertGreaterEqual(server.connections, 3)
        self.wait_metric(http, "skiff_output_retries_total", lambda v: v >= 2, 5, "two retries",
                         instance=OUT)
        self.stop(skiff)


class Failover(ForwardCase):
    def test_a_refused_host_hands_the_chunk_to_the_next_at_once(self):
        tmp = TempDir(self)
        server = self.fake()
        dead = f"127.0.0.1:{free_port()}"
        skiff, http = self.start(tmp, {"hosts": [dead, server.address]}, count=60)
        self.wait_events(server, skiff, 60)
        self.assert_each_once(server, 60)
        self.assertRegex(skiff.stderr_text(),
                         rf"{dead}: connect: Connection refused; chunk \d+ goes to "
                         rf"{server.address}")
        self.wait_metric(http, "skiff_forward_errors_total", lambda v: v >= 1, 5,
                         "the refused connection counted", instance=OUT, reason="connect")
        self.stop(skiff)

    def test_a_host_that_never_acknowledges_loses_its_chunks_to_the_next(self):
        """The first host takes chunks but never answers: each is retried
        after ack_timeout, on the second host while the first backs off."""
        tmp = TempDir(self)
        silent = self.fake(ack=False)
        server = self.fake()
        skiff, http = self.start(tmp, {"hosts": [silent.address, server.address],
                                       "ack_timeout": "1s"}, count=80)
        self.wait_metric(http, "skiff_output_records_total", lambda v: v == 80, 30,
                         "80 records acknowledged", instance=OUT)
        self.assertEqual(sorted(set(server.seqs())), list(range(80)))
        self.assertGreaterEqual(silent.event_count(), 1, "the first host had a chunk")
        self.stop(skiff)


class HandshakeFailures(ForwardCase):
    def assert_no_key(self, skiff, http, key):
        self.assertNotIn(key, skiff.stderr_text())
        self.assertNotIn(key, http.get("/metrics")[2])
        self.assertNotIn(key, http.get("/readyz")[2])

    def test_a_wrong_key_is_refused_names_the_host_and_heals(self):
        """Fluentd refuses the key: the error names the host and quotes the
        server, /readyz says the output fails, the records wait; once the
        server has the same key, they go and the output is ready again."""
        tmp = TempDir(self)
        server = self.fake(shared_key="the-server-key")
        skiff, http = self.start(tmp, {"hosts": [server.address],
                                       "shared_key": "Wr0ng-client-key"}, count=30)
        self.wait_metric(http, "skiff_forward_errors_total", lambda v: v >= 2, 15,
                         "refused handshakes", instance=OUT, reason="auth")
        self.assertEqual(server.event_count(), 0)
        self.assertIn(f"{server.address}: the server refused the handshake: "
                      "'shared_key mismatch'", skiff.stderr_text())
        status, _, body = http.get("/readyz")
        self.assertEqual(status, 503)
        self.assertIn(f"output {OUT} failing", body)
        self.assert_no_key(skiff, http, "Wr0ng-client-key")
        server.shared_key = "Wr0ng-client-key"
        self.wait_events(server, skiff, 30)
        wait_for(lambda: http.get("/readyz")[0] == 200, 10, "ready again", alive=skiff)
        self.stop(skiff)
        self.assertNotIn("Wr0ng-client-key", skiff.stderr_text())

    def test_a_pong_with_a_wrong_digest_gets_no_records(self):
        """A server that accepts the PING but cannot prove it holds the key
        (its PONG's digest is wrong) is not sent a single record."""
        tmp = TempDir(self)
        server = self.fake(shared_key="s3cret-key", wrong_pong_digest=True)
        skiff, http = self.start(tmp, {"hosts": [server.address], "shared_key": "s3cret-key"},
                                 count=10)
        self.wait_metric(http, "skiff_forward_errors_total", lambda v: v >= 2, 15,
                         "forged PONGs", instance=OUT, reason="auth")
        self.assertEqual(server.event_count(), 0)
        self.assertEqual(server.messages, [])
        self.assertIn(f"{server.address}: the server ('fake-fluentd') answered with a wrong "
                      "shared key digest", skiff.stderr_text())
        self.assert_no_key(skiff, http, "s3cret-key")
        self.stop(skiff)

    def test_a_refused_user(self):
        tmp = TempDir(self)
        server = self.fake(shared_key="k", users={"bob": "right"})
        skiff, http = self.start(tmp, {"hosts": [server.address], "shared_key": "k",
                                       "username": "bob", "password": "Wr0ng-pass"}, count=10)
        self.wait_metric(http, "skiff_forward_errors_total", lambda v: v >= 1, 15,
                         "a refused user", instance=OUT, reason="auth")
        self.assertIn("'username/password mismatch'", skiff.stderr_text())
        self.assertEqual(server.event_count(), 0)
        self.assert_no_key(skiff, http, "Wr0ng-pass")
        self.stop(skiff)

    def test_a_server_that_wants_a_handshake_from_a_client_without_key(self):
        tmp = TempDir(self)
        server = self.fake(shared_key="k")
        skiff, http = self.start(tmp, {"hosts": [server.address]}, count=10)
        self.wait_metric(http, "skiff_forward_errors_total", lambda v: v >= 1, 15,
                         "a protocol error", instance=OUT, reason="protocol")
        self.assertIn(f"{server.address}: the server began a handshake (HELO): it needs "
                      "shared_key", skiff.stderr_text())
        self.assertEqual(server.event_count(), 0)
        self.stop(skiff)

    def test_a_key_on_this_side_only(self):
        tmp = TempDir(self)
        server = self.fake()
        skiff, http = self.start(tmp, {"hosts": [server.address], "shared_key": "k",
                                       "connect_timeout": "500ms"}, count=10)
        self.wait_metric(http, "skiff_forward_errors_total", lambda v: v >= 1, 15,
                         "a handshake timeout", instance=OUT, reason="handshake")
        self.assertIn(f"{server.address}: no HELO within 0.5s", skiff.stderr_text())
        self.assertEqual(server.event_count(), 0)
        self.stop(skiff)


if __name__ == "__main__":
    unittest.main()
