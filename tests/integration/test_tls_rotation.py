"""Certificates rotated while skiff runs, as cert-manager or a Kubernetes
Secret update does: the CA bundle, the client certificate and its key are
replaced on disk (each file by a rename, as the kubelet's atomic writer swaps
a Secret volume's files) and the server starts presenting a certificate of
the new CA and requiring client certificates of it. skiff must use the new
files for its next connections without a restart and lose nothing. Also: a
server that requires a client certificate skiff was not given is named as
the cause, not a socket error."""

import os
import re
import shutil
import unittest

from fake_es import FakeElasticsearch, make_certs
from harness import TempDir, wait_for
from test_elasticsearch import ElasticsearchCase

OUT = "elasticsearch.0"


def install(src, dst):
    """Replaces `dst` by a copy of `src` in one rename."""
    tmp = dst + ".new"
    shutil.copyfile(src, tmp)
    os.rename(tmp, dst)


class Rotation(ElasticsearchCase):
    def test_ca_and_client_certificate_rotate_under_traffic(self):
        tmp = TempDir(self)
        old = make_certs(tmp.join("old"))
        new = make_certs(tmp.join("new"))
        live = tmp.join("live")
        os.makedirs(live)
        files = {"ca": "ca.crt", "client_cert": "tls.crt", "client_key": "tls.key"}
        for key, name in files.items():
            install(old[key], os.path.join(live, name))

        es = FakeElasticsearch(tls={"cert": old["server_cert"], "key": old["server_key"],
                                    "client_ca": old["ca"]}).start()
        port = es.port
        total = 3000
        inputs = [{"name": "dummy", "tag": "app", "rate": 300, "count": total,
                   "record": {"msg": "hello"}}]
        skiff, http = self.start(tmp, {"hosts": [f"https://localhost:{port}"], "tls": {
            "ca_file": os.path.join(live, "ca.crt"),
            "cert_file": os.path.join(live, "tls.crt"),
            "key_file": os.path.join(live, "tls.key")}}, inputs=inputs)
        wait_for(lambda: es.doc_count() >= 300, 30, "documents before the rotation",
                 alive=skiff)

        # The rotation: new files first, then the server switches (its old
        # connections close, as a restarted Elasticsearch node's do).
        for key, name in files.items():
            install(new[key], os.path.join(live, name))
        es.stop()
        with es.lock:
            before = dict(es.docs)
        es = FakeElasticsearch(tls={"cert": new["server_cert"], "key": new["server_key"],
                                    "client_ca": new["ca"]}, port=port).start()
        self.addCleanup(es.stop)

        wait_for(lambda: len(before) + es.doc_count() >= total, 60,
                 "every document after the rotation", alive=skiff)
        self.stop(skiff)
        with es.lock:
            after = dict(es.docs)
        seqs = sorted(int(doc_id) for _, doc_id in list(before) + list(after))
        self.assertEqual(seqs[0], 0)
        self.assertEqual(set(seqs), set(range(total)), "a record was lost")
        self.assertGreater(len(after), 0)

    def test_missing_client_certificate_is_named(self):
        tmp = TempDir(self)
        certs = make_certs(tmp.join("pki"))
        es = self.fake(tls={"cert": certs["server_cert"], "key": certs["server_key"],
                            "client_ca": certs["ca"]})
        skiff, http = self.start(tmp, {"hosts": [f"https://localhost:{es.port}"],
                                       "tls": {"ca_file": certs["ca"]}}, count=5)
        wait_for(lambda: re.search(r"client certificate", skiff.stderr_text()), 20,
                 "a message naming the missing client certificate", alive=skiff)
        self.stop(skiff)
        self.assertEqual(es.doc_count(), 0)
        self.assertRegex(skiff.stderr_text(),
                         r"the server requires a client certificate, and none is configured")

    def test_another_hosts_demand_is_not_blamed(self):
        """Two hosts: the first requires a client certificate, the second
        never answers in time. The second's failures are timeouts, whatever
        the first asked for meanwhile (demands are counted per origin)."""
        tmp = TempDir(self)
        certs = make_certs(tmp.join("pki"))
        demanding = self.fake(tls={"cert": certs["server_cert"], "key": certs["server_key"],
                                   "client_ca": certs["ca"]})
        slow = self.fake(tls={"cert": certs["server_cert"], "key": certs["server_key"]})
        slow.delay = 3.0
        slow_url = f"https://localhost:{slow.port}"
        skiff, http = self.start(tmp, {"hosts": [f"https://localhost:{demanding.port}", slow_url],
                                       "tls": {"ca_file": certs["ca"]}, "timeout": "1s",
                                       "max_in_flight": 4},
                                 inputs=[{"name": "dummy", "tag": "app", "rate": 50,
                                          "count": 400, "record": {"msg": "hello"}}])

        def both_named():
            text = skiff.stderr_text()
            return (re.search(r"client certificate", text)
                    and re.search(re.escape(slow_url) + r"[^\n]*timed out", text))
        wait_for(both_named, 30, "both hosts' failures in the log", alive=skiff)
        self.stop(skiff)
        for line in skiff.stderr_text().splitlines():
            if slow_url in line and "timed out" in line:
                self.assertNotIn("client certificate", line)


if __name__ == "__main__":
    unittest.main()
