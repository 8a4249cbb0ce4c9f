"""The fake Elasticsearch (fake_es.py) proved against the real responses in
../shared/es-responses/: each test drives the fake over HTTP (no skiff) and
compares its answer with the replayed file after the documented fill-ins
(index name, _id, took, _seq_no, the request's URI). These tests need no
skiff binary."""

import gzip
import http.client
import json
import os
import socket
import time
import unittest

from fake_es import FakeElasticsearch
from fake_es_replay import RESPONSES_DIR

TODAY = time.strftime("%Y.%m.%d", time.gmtime())
NDJSON = [("Content-Type", "application/x-ndjson")]


def real(name):
    """The file as stored, read here independently of the fake."""
    with open(os.path.join(RESPONSES_DIR, name + ".json"), encoding="utf-8") as f:
        return json.load(f)


def real_item(name, **fill):
    (op, fields), = real(name)["item"].items()
    fields.update(fill)
    return op, fields


def ndjson(*objs):
    return "".join(json.dumps(o) + "\n" for o in objs).encode()


class FakeCase(unittest.TestCase):
    def fake(self, **kwargs):
        es = FakeElasticsearch(**kwargs).start()
        self.addCleanup(es.stop)
        return es

    def call(self, es, method, path, body=b"", headers=NDJSON):
        """(status, [(lower-case name, value)], body bytes); headers may repeat."""
        conn = http.client.HTTPConnection("127.0.0.1", es.port, timeout=10)
        self.addCleanup(conn.close)
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, [(k.lower(), v) for k, v in resp.getheaders()], resp.read()

    def bulk(self, es, *objs, path="/_bulk", headers=NDJSON):
        status, headers, body = self.call(es, "POST", path, ndjson(*objs), headers)
        return status, headers, json.loads(body) if body else None

    def one_item(self, es, action, doc=None, **kw):
        objs = (action,) if doc is None else (action, doc)
        status, _, body = self.bulk(es, *objs, **kw)
        self.assertEqual(status, 200, body)
        (op, fields), = body["items"][0].items()
        return op, fields


class FakeEsDataStreams(FakeCase):
    def test_create_answers_the_backing_index(self):
        es = self.fake()
        op, fields = self.one_item(es, {"create": {"_index": "logs-app-default", "_id": "a"}},
                                   {"@timestamp": "2026-12-04T00:00:00Z"})
        _, ref = real_item("ds_item_created")
        self.assertEqual(list(fields), list(ref))  # same members, same order
        self.assertEqual(fields["_index"], f".ds-logs-app-default-{TODAY}-000001")
        self.assertEqual((op, fields["status"], fields["result"]), ("create", 201, "created"))
        self.assertEqual(list(es.docs), [("logs-app-default", "a")])

    def test_index_op_is_refused(self):
        es = self.fake()
        got = self.one_item(es, {"index": {"_index": "logs-app-default", "_id": "x"}},
                            {"@timestamp": "t"})
        self.assertEqual(got, real_item("ds_item_400_index_op", _index="logs-app-default"))

    def test_timestamp_is_required(self):
        es = self.fake()
        doc = {"msg": "no time"}
        op, fields = self.one_item(es, {"create": {"_index": "logs-a-b", "_id": "9"}}, doc)
        ref_op, ref = real_item("ds_item_timestamp_missing", _index=f".ds-logs-a-b-{TODAY}-000001",
                                _id="9")
        col = len(json.dumps(doc))
        ref["error"]["reason"] = ref["error"]["reason"].replace("[1:1223]", f"[1:{col}]")
        self.assertEqual((op, fields), (ref_op, ref))

    def test_es7_has_the_template_and_opensearch_has_not(self):
        es7 = self.fake(mode="es7")
        _, fields = self.one_item(es7, {"index": {"_index": "logs-a-b", "_id": "1"}}, {})
        self.assertEqual(fields["status"], 400)
        os2 = self.fake(mode="opensearch2")
        _, fields = self.one_item(os2, {"index": {"_index": "logs-a-b", "_id": "1"}}, {})
        self.assertEqual((fields["_index"], fields["status"]), ("logs-a-b", 201))


class FakeEsActionLines(FakeCase):
    def test_type_refused_on_8_and_opensearch_2(self):
        ref = real("req_400_type_unknown")
        for mode in ("es8", "opensearch2"):
            es = self.fake(mode=mode)
            status, _, body = self.call(es, "POST", "/_bulk",
                                        ndjson({"index": {"_index": "i", "_type": "_doc"}}, {}))
            self.assertEqual((status, body.decode()), (ref["status"], ref["body"]), mode)
        es7 = self.fake(mode="es7")
        _, fields = self.one_item(es7, {"index": {"_index": "i", "_type": "_doc", "_id": "1"}}, {})
        self.assertEqual((fields["_type"], fields["status"]), ("_doc", 201))

    def test_type_accepted_by_8_in_compatible_with_7(self):
        es = self.fake()
        v7 = "application/vnd.elasticsearch+x-ndjson; compatible-with=7"
        accept = "application/vnd.elasticsearch+json; compatible-with=7"
        _, fields = self.one_item(es, {"index": {"_index": "i", "_type": "_doc", "_id": "1"}}, {},
                                  headers=[("Content-Type", v7), ("Accept", accept)])
        self.assertEqual((fields["_type"], fields["status"]), ("_doc", 201))

    def test_duplicate_keys(self):
        es8, es7 = self.fake(), self.fake(mode="es7")
        body = b'{"create":{"_index":"i","_id":"1"}}\n{"a":1,"a":2}\n'
        for es, type_ in ((es8, "document_parsing_exception"), (es7, "mapper_parsing_exception")):
            status, _, text = self.call(es, "POST", "/_bulk", body)
            error = json.loads(text)["items"][0]["create"]["error"]
            self.assertEqual((status, error["type"]), (200, type_))
            self.assertEqual(error["caused_by"]["type"], "json_parse_exception")
            self.assertTrue(error["caused_by"]["reason"].startswith("Duplicate field 'a'"))
        status, _, text = self.call(es8, "POST", "/_bulk",
                                    b'{"create":{"_index":"i","_index":"j"}}\n{}\n')
        self.assertEqual(status, 400)
        self.assertIn("Duplicate field '_index'", json.loads(text)["error"]["reason"])
        self.assertEqual(es8.doc_count(), 0)

    def test_invalid_json_document(self):
        es = self.fake()
        status, _, text = self.call(es, "POST", "/_bulk", b'{"create":{"_index":"i"}}\n{"a":\n')
        error = json.loads(text)["items"][0]["create"]["error"]
        self.assertEqual(error["type"], "document_parsing_exception")

    def test_index_name_rules(self):
        es8, es7 = self.fake(), self.fake(mode="es7")
        cases = {
            "Logs": "must be lowercase",
            "Ünïcode": "must be lowercase",
            "_x": "must not start with '_', '-', or '+'",
            "-x": "must not start with '_', '-', or '+'",
            "+x": "must not start with '_', '-', or '+'",
            ".": "must not be '.' or '..'",
            "..": "must not be '.' or '..'",
            "a#b": "must not contain '#'",
            "a:b": "must not contain ':'",
            "a b": 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]',
            "a*b": 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]',
            "é" * 128: "index name is too long, (256 > 255)",
        }
        for name, problem in cases.items():
            _, fields = self.one_item(es8, {"create": {"_index": name, "_id": "1"}}, {})
            self.assertEqual(fields, {"_index": name, "_id": "1", "status": 400, "error": {
                "type": "invalid_index_name_exception",
                "reason": f"Invalid index name [{name}], {problem}",
                "index_uuid": "_na_", "index": name}}, name)
        _, fields = self.one_item(es7, {"create": {"_index": "a:b", "_id": "1"}}, {})
        self.assertEqual(fields["status"], 201)  # 7.x only deprecated ':'

    def test_id_rules(self):
        es = self.fake()
        got = self.one_item(es, {"index": {"_index": "test", "_id": ""}}, {})
        self.assertEqual(got, real_item("yaml_item_400_empty_id"))
        long_id = "x" * 513
        status, _, body = self.bulk(es, {"index": {"_index": "test", "_id": long_id}}, {})
        self.assertEqual(status, 400)
        self.assertEqual(body["error"]["type"], "action_request_validation_exception")
        self.assertEqual(body["error"]["reason"], f"Validation Failed: 1: id [{long_id}] is too "
                                                  "long, must be no longer than 512 bytes but was: 513;")


class FakeEsItemErrors(FakeCase):
    def test_create_doc_privilege(self):
        es = self.fake()
        es.privileges = "create_doc"
        index = "skiff-2026.12.05"
        got = self.one_item(es, {"index": {"_index": index, "_id": "x"}}, {})
        op, ref = real_item("item_403_security_create_doc", _index=index)
        ref["error"]["reason"] = ref["error"]["reason"].replace("[skiff-2026.12.04]", f"[{index}]")
        self.assertEqual(got, (op, ref))
        _, fields = self.one_item(es, {"create": {"_index": index, "_id": "x"}}, {})
        self.assertEqual(fields["status"], 201)

    def test_write_block_and_flood_stage(self):
        es = self.fake()
        es.write_blocked = {"myindex6"}
        got = self.one_item(es, {"index": {"_index": "myindex6", "_id": "x"}}, {})
        self.assertEqual(got, real_item("item_403_write_block"))
        es.write_blocked, es.flood_stage = set(), True
        got = self.one_item(es, {"index": {"_index": "xxx", "_id": "x"}}, {})
        self.assertEqual(got, real_item("item_429_flood_stage"))

    def test_create_conflict_429_and_503(self):
        es = self.fake()
        es.index_uuids["posts"] = "3zLDcCFFTASdSaKQTa93Xg"
        self.one_item(es, {"create": {"_index": "posts", "_id": "3"}}, {})
        got = self.one_item(es, {"create": {"_index": "posts", "_id": "3"}}, {})
        self.assertEqual(got, real_item("es815_item_create_409"))
        es.item_429_once, es.item_503_once = {"2"}, {"1"}
        got = self.one_item(es, {"index": {"_index": "logs", "_id": "2"}}, {})
        self.assertEqual(got, real_item("item_429_es_rejected"))
        got = self.one_item(es, {"index": {"_index": "products", "_id": "1"}}, {})
        self.assertEqual(got, real_item("item_503_unavailable_shards"))
        _, fields = self.one_item(es, {"index": {"_index": "logs", "_id": "2"}}, {})
        self.assertEqual(fields["status"], 201)  # only once

    def test_reject_field(self):
        es8, es7 = self.fake(), self.fake(mode="es7")
        for es in (es8, es7):
            es.reject_field = "views"
        doc = {"views": "many"}
        _, fields = self.one_item(es8, {"index": {"_index": "posts", "_id": "2"}}, doc)
        self.assertEqual(("index", fields), real_item("es815_item_document_parsing_exception"))
        _, fields = self.one_item(es7, {"index": {"_index": "posts", "_id": "2"}}, doc)
        self.assertEqual(fields["error"]["type"], "mapper_parsing_exception")
        self.assertEqual(fields["error"]["reason"], "failed to parse field [views] of type [long] "
                         "in document with id '2'. Preview of field's value: 'many'")

    def test_pipelines(self):
        es = self.fake()
        got = self.one_item(es, {"index": {"_index": "test_index", "_id": "test_id2"}}, {},
                            path="/_bulk?pipeline=mypipeline")
        self.assertEqual(got, real_item("yaml_item_400_pipeline_missing"))
        es.pipelines = {"mypipeline"}
        _, fields = self.one_item(es, {"index": {"_index": "test_index", "_id": "t"}}, {},
                                  path="/_bulk?pipeline=mypipeline")
        self.assertEqual(fields["status"], 201)
        self.assertEqual(es.pipelined, {("test_index", "t"): "mypipeline"})


class FakeEsRequestLevel(FakeCase):
    def test_filter_path_drops_items_without_a_match(self):
        es = self.fake()
        es.index_uuids["index1"] = "aAsFqTI0Tc2W0LCWgPNrOA"
        objs = [{"update": {"_index": "index1", "_id": "5"}}, {"doc": {"a": 1}},
                {"update": {"_index": "index1", "_id": "6"}}, {"doc": {"a": 1}},
                {"create": {"_index": "index1", "_id": "7"}}, {"a": 1}]
        status, _, body = self.bulk(es, *objs, path="/_bulk?filter_path=items.*.error")
        self.assertEqual(status, 200)
        self.assertEqual(body, json.loads(real("spec_bulk_filter_path_items_error")["body"]))
        _, _, body = self.bulk(es, {"index": {"_index": "a", "_id": "1"}}, {},
                               {"create": {"_index": "a", "_id": "1"}}, {},
                               path="/_bulk?filter_path=errors,items.*.status")
        self.assertEqual(body, {"errors": True, "items": [{"index": {"status": 201}},
                                                          {"create": {"status": 409}}]})
        _, _, body = self.bulk(es, {"index": {"_index": "a", "_id": "2"}}, {},
                               path="/_bulk?filter_path=**.result,took")
        self.assertEqual(set(body), {"took", "items"})
        self.assertEqual(body["items"], [{"index": {"result": "created"}}])
        _, _, body = self.bulk(es, {"index": {"_index": "a", "_id": "3"}}, {},
                               path="/_bulk?filter_path=items.*.error")
        self.assertEqual(body, {})

    def test_indexing_pressure(self):
        es = self.fake()
        es.indexing_pressure_limit = 100
        body = ndjson({"index": {"_index": "a"}}, {"pad": "x" * 200})
        ref = real("req_429_indexing_pressure")
        expected = ref["body"].replace("coordinating_operation_bytes=54215758",
                                       f"coordinating_operation_bytes={len(body)}").replace(
            "max_coordinating_and_primary_bytes=53687091", "max_coordinating_and_primary_bytes=100")
        for _ in range(2):  # every time, whatever the load
            status, _, text = self.call(es, "POST", "/_bulk", body)
            self.assertEqual((status, text.decode()), (429, expected))

    def test_injected_faults_answer_real_bodies(self):
        es = self.fake()
        es.request_faults = [(400, None), (429, 3), (503, None)]
        body = ndjson({"index": {"_index": "a"}}, {})
        status, _, text = self.call(es, "POST", "/_bulk", body)
        self.assertEqual((status, text.decode()), (400, real("req_400_type_unknown")["body"]))
        status, headers, text = self.call(es, "POST", "/_bulk", body)
        self.assertEqual((status, text.decode()), (429, real("req_429_circuit_breaker")["body"]))
        self.assertIn(("retry-after", "3"), headers)
        status, _, text = self.call(es, "POST", "/_bulk", body)
        self.assertEqual((status, json.loads(text)["error"]["type"]), (503, "cluster_block_exception"))

    def test_content_type_of_answers(self):
        for mode, expected in (("es8", "application/json"),
                               ("es7", "application/json; charset=UTF-8"),
                               ("opensearch2", "application/json; charset=UTF-8")):
            es = self.fake(mode=mode)
            _, headers, _ = self.call(es, "POST", "/_bulk", ndjson({"index": {"_index": "a"}}, {}))
            self.assertIn(("content-type", expected), headers, mode)

    def test_headers_and_ops_are_recorded(self):
        es = self.fake()
        self.bulk(es, {"create": {"_index": "a"}}, {}, {"delete": {"_index": "a", "_id": "z"}},
                  headers=NDJSON + [("X-Test", "1"), ("X-Test", "2")])
        record = es.requests[-1]
        self.assertEqual(record["ops"], ["create", "delete"])
        self.assertEqual(record["headers"]["x-test"], ["1", "2"])

    def test_cluster_info(self):
        for mode, number, tagline in (("es8", "8.", "You Know, for Search"),
                                      ("es7", "7.17", "You Know, for Search"),
                                      ("opensearch2", "2.", "The OpenSearch Project: "
                                                            "https://opensearch.org/")):
            es = self.fake(mode=mode)
            status, _, body = self.call(es, "GET", "/", headers=[])
            info = json.loads(body)
            self.assertEqual(status, 200)
            self.assertTrue(info["version"]["number"].startswith(number))
            self.assertEqual(info["tagline"], tagline)


class FakeEsMediaTypes(FakeCase):
    V8_ND = "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
    V8_JS = "application/vnd.elasticsearch+json; compatible-with=8"

    def test_two_content_types(self):
        es8, es7 = self.fake(), self.fake(mode="es7")
        body = ndjson({"index": {"_index": "a"}}, {})
        two = [("Content-Type", "application/x-ndjson"), ("Content-Type", "application/json")]
        status, _, text = self.call(es8, "POST", "/_bulk", body, two)
        error = json.loads(text)["error"]
        self.assertEqual((status, error["type"]), (400, "media_type_header_exception"))
        self.assertEqual(error["caused_by"]["reason"],
                         "Incorrect header [Content-Type]. Only one value should be provided")
        status, _, text = self.call(es7, "POST", "/_bulk", body, two)
        error = json.loads(text)["error"]
        ref = real("req_400_duplicate_content_type")
        self.assertEqual((status, error["type"]), (ref["status"], "content_type_header_exception"))
        self.assertIn("only one Content-Type header should be provided", error["reason"])

    def test_compatible_with_must_agree(self):
        es = self.fake()
        body = ndjson({"index": {"_index": "a"}}, {})
        headers = [("Content-Type", "application/x-ndjson"), ("Accept", self.V8_JS)]
        status, _, text = self.call(es, "POST", "/_bulk", body, headers)
        error = json.loads(text)["error"]
        notes = real("req_400_compat_mismatch")["notes"]
        self.assertEqual((status, error["type"]), (400, "media_type_header_exception"))
        self.assertEqual(error["caused_by"]["reason"],
                         notes.replace("{}", self.V8_JS, 1).replace("{}", "application/x-ndjson", 1))
        status, headers, _ = self.call(es, "POST", "/_bulk", body,
                                       [("Content-Type", self.V8_ND), ("Accept", self.V8_JS)])
        self.assertEqual(status, 200)
        self.assertIn(("content-type", "application/vnd.elasticsearch+json;compatible-with=8"),
                      headers)

    def test_unsupported_types(self):
        body = ndjson({"index": {"_index": "a"}}, {})
        es7, es8 = self.fake(mode="es7"), self.fake()
        status, _, text = self.call(es7, "POST", "/_bulk", body,
                                    [("Content-Type", self.V8_ND), ("Accept", self.V8_JS)])
        self.assertEqual((status, json.loads(text)), (406, {
            "error": f"Content-Type header [{self.V8_ND}] is not supported", "status": 406}))
        status, _, text = self.call(es8, "POST", "/_bulk", body, [("Content-Type", "text/plain")])
        self.assertEqual(status, 406)


class FakeEsAuth(FakeCase):
    def test_missing_credentials_answer_the_real_401(self):
        es = self.fake(user="elastic", password="s3cret")
        ref = real("req_401_missing_credentials")
        status, headers, body = self.call(es, "GET", "/?pretty", headers=[])
        self.assertEqual((status, body.decode()), (ref["status"], ref["body"]))
        challenges = [(k.lower(), v) for k, v in ref["headers"] if k.lower() == "www-authenticate"]
        self.assertEqual([h for h in headers if h[0] == "www-authenticate"], challenges)
        self.assertIn(("x-elastic-product", "Elasticsearch"), headers)

    def test_wrong_password_and_before_routing(self):
        es = self.fake(user="elastic", password="s3cret")
        bad = [("Authorization", "Basic ZWxhc3RpYzp3cm9uZw==")]  # elastic:wrong
        status, _, body = self.call(es, "POST", "/no/such/path", b"{}", bad + NDJSON)
        self.assertEqual(status, 401)
        self.assertEqual(json.loads(body)["error"]["reason"],
                         "unable to authenticate user [elastic] for REST request [/no/such/path]")

    def test_opensearch(self):
        es = self.fake(mode="opensearch2", user="admin", password="x")
        status, headers, body = self.call(es, "GET", "/", headers=[])
        self.assertEqual((status, body), (401, b"Unauthorized"))
        self.assertNotIn("x-elastic-product", dict(headers))
        es2 = self.fake(mode="opensearch2")
        es2.privileges = "none"
        status, _, body = self.call(es2, "POST", "/_bulk", ndjson({"index": {"_index": "a"}}, {}))
        ref = real("req_403_opensearch_no_permissions")
        self.assertEqual((status, body.decode()), (ref["status"], ref["body"]))

    def test_product_header_on_every_response(self):
        for mode in ("es8", "es7"):
            es = self.fake(mode=mode)
            for method, path, body in (("GET", "/", b""), ("POST", "/_bulk", b"x"),
                                       ("GET", "/nothing", b"")):
                _, headers, _ = self.call(es, method, path, body)
                self.assertIn(("x-elastic-product", "Elasticsearch"), headers, (mode, path))


class FakeEsTooLarge(FakeCase):
    def raw(self, es, head, body=b"", wait=0.0):
        s = socket.create_connection(("127.0.0.1", es.port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(head + body)
        data = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
            if wait == 0.0 and b"\r\n\r\n" in data:
                break
        return s, data

    def head(self, length, extra=""):
        return (f"POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                f"Content-Length: {length}\r\n{extra}\r\n").encode()

    def test_content_length_over_the_limit(self):
        """413 from the headers alone, nothing of the body read, then closed."""
        es = self.fake()
        es.max_content_length = 1000
        ref = real("req_413_netty")
        s, data = self.raw(es, self.head(5000))
        lines = data.split(b"\r\n")
        self.assertEqual(lines[0], b"HTTP/1.1 413 Request Entity Too Large")
        headers = [tuple(x.decode().split(": ", 1)) for x in lines[1:] if x]
        self.assertEqual(headers, [tuple(h) for h in ref["headers"]])
        s.settimeout(5)
        self.assertEqual(s.recv(100), b"")  # closed by the server
        self.assertEqual(es.requests[-1]["status"], 413)

    def test_expect_100_continue(self):
        es = self.fake()
        es.max_body = 1000  # the old name still works
        _, data = self.raw(es, self.head(5000, "Expect: 100-continue\r\n"))
        self.assertTrue(data.startswith(b"HTTP/1.1 413 "), data)
        body = ndjson({"index": {"_index": "a"}}, {})
        s, data = self.raw(es, self.head(len(body), "Expect: 100-continue\r\n"))
        self.assertTrue(data.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), data)
        s.sendall(body)
        reply = b""
        while b"}]}" not in reply:
            reply += s.recv(65536)
        self.assertIn(b"HTTP/1.1 200 OK", reply)

    def test_other_expectations_are_refused(self):
        es = self.fake()
        _, data = self.raw(es, self.head(10, "Expect: something\r\n"))
        self.assertTrue(data.startswith(b"HTTP/1.1 417 "), data)
        self.assertIn(b"connection: close", data)

    def test_gzip_counts_the_decompressed_size(self):
        """Netty's HttpContentDecompressor runs before the size handler and
        drops Content-Length, so a small gzip body that inflates over the
        limit is refused, and one under it is taken."""
        es = self.fake()
        es.max_content_length = 10000
        big = gzip.compress(ndjson({"index": {"_index": "a"}}, {"pad": "x" * 20000}))
        self.assertLess(len(big), 10000)
        headers = NDJSON + [("Content-Encoding", "gzip")]
        status, _, _ = self.call(es, "POST", "/_bulk", big, headers)
        self.assertEqual(status, 413)
        small = gzip.compress(ndjson({"index": {"_index": "a"}}, {"pad": "x" * 100}))
        status, _, _ = self.call(es, "POST", "/_bulk", small, headers)
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
