"""A fake Elasticsearch for the integration tests: the `_bulk` API with its
real semantics, on 127.0.0.1 only, over HTTP or HTTPS (optionally requiring a
client certificate), with basic or ApiKey authentication, and with faults to
inject. Python standard library only.

What it implements of `_bulk`: NDJSON action lines (`index` and `create`,
with `_index` and optional `_id`), gzip request bodies (Content-Encoding:
gzip), the `pipeline` and `filter_path` (`key`, `items.*.key`) parameters, the `errors` flag and per-item `status`, `result` and `error`
objects in the shape Elasticsearch 7/8 answers; `create` on an existing id
answers 409 version_conflict_engine_exception. Documents are kept in
`docs`, keyed by (index, id), and every successful write is counted in
`writes`, so tests can assert that each document arrived exactly once.

Faults (set the attributes; all are thread-safe through `lock`):
  request_faults  a list of (status, retry_after or None) consumed one per
                  bulk request: the whole request answers that status
  close_requests  how many next requests are closed without an answer
  delay           seconds to wait before answering each request
  item_429_once   ids whose first write answers 429 (es_rejected_execution)
  reject_field    a field name: documents having it answer 400
                  mapper_parsing_exception
  max_body        request bodies (as sent) over this many bytes answer 413
"""

import base64
import gzip
import http.server
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections import Counter


class FakeElasticsearch:
    def __init__(self, tls=None, user=None, password=None, api_key=None, port=0):
        """tls: None for HTTP, or a dict with cert, key and optionally
        client_ca (then a client certificate signed by it is required)."""
        self.lock = threading.Lock()
        self.connections = set()
        self.docs = {}
        self.writes = Counter()
        self.requests = []  # dicts: status, items, gzip, query, bytes, at
        self.request_faults = []
        self.close_requests = 0
        self.delay = 0.0
        self.item_429_once = set()
        self.reject_field = None
        self.max_body = None
        self.user, self.password, self.api_key = user, password, api_key
        # port: 0 for a free one, or a stopped fake's port to "restart" it.
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.server.daemon_threads = True
        # A client that timed out and hung up is expected; not worth a traceback.
        self.server.handle_error = lambda request, address: None
        self.server.fake = self
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls["cert"], tls["key"])
            if tls.get("client_ca"):
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(tls["client_ca"])
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.scheme = "https" if tls else "http"
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        """Stops listening and closes the keep-alive connections too, as a
        node that goes down does (handler threads would serve them on)."""
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            open_connections = list(self.connections)
        for conn in open_connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(timeout=10)

    # ---- what tests read ----

    def doc_count(self):
        with self.lock:
            return len(self.docs)

    def statuses(self):
        with self.lock:
            return Counter(r["status"] for r in self.requests)

    # ---- the bulk API ----

    def check_auth(self, header):
        if self.user is None and self.api_key is None:
            return True
        if self.api_key is not None and header == f"ApiKey {self.api_key}":
            return True
        if self.user is not None:
            pair = f"{self.user}:{self.password}".encode()
            return header == "Basic " + base64.b64encode(pair).decode()
        return False

    def take_fault(self):
        """The whole-request fault for this request, or None."""
        with self.lock:
            if self.close_requests > 0:
                self.close_requests -= 1
                return "close"
            if self.request_faults:
                return self.request_faults.pop(0)
        return None

    def bulk(self, body, query):
        lines = [line for line in body.split(b"\n") if line.strip()]
        if len(lines) % 2:
            raise ValueError("odd number of lines")
        items = []
        with self.lock:
            for i in range(0, len(lines), 2):
                items.append(self.bulk_item(json.loads(lines[i]), json.loads(lines[i + 1]),
                                            query))
        errors = any(next(iter(item.values()))["status"] >= 300 for item in items)
        return filter_response({"took": 1, "errors": errors, "items": items},
                               query.get("filter_path"))

    def bulk_item(self, action, source, query):
        (op, meta), = action.items()
        if op not in ("index", "create"):
            raise ValueError(f"unsupported action {op}")
        index = meta["_index"]
        doc_id = meta.get("_id") or uuid.uuid4().hex
        result = {"_index": index, "_id": doc_id}
        if doc_id in self.item_429_once:
            self.item_429_once.discard(doc_id)
            return {op: dict(result, status=429, error={
                "type": "es_rejected_execution_exception",
                "reason": "rejected execution of coordinating operation"})}
        if self.reject_field and self.reject_field in source:
            return {op: dict(result, status=400, error={
                "type": "mapper_parsing_exception",
                "reason": f"failed to parse field [{self.reject_field}] of type [long]"})}
        key = (index, doc_id)
        if op == "create" and key in self.docs:
            return {op: dict(result, status=409, error={
                "type": "version_conflict_engine_exception",
                "reason": f"[{doc_id}]: version conflict, document already exists"})}
        created = key not in self.docs
        if "pipeline" in query:
            source = dict(source, _pipeline=query["pipeline"])
        self.docs[key] = source
        self.writes[key] += 1
        return {op: dict(result, status=201 if created else 200,
                         result="created" if created else "updated", _version=self.writes[key])}


def filter_response(response, filter_path):
    """Elasticsearch's filter_path for the shapes `key` and `items.*.key`."""
    if not filter_path:
        return response
    paths = filter_path.split(",")
    item_keys = {p.split(".", 2)[2] for p in paths if p.startswith("items.*.")}
    out = {k: v for k, v in response.items() if k in paths}
    if item_keys:
        out["items"] = [{op: {k: v for k, v in fields.items() if k in item_keys}
                         for op, fields in item.items()} for item in response["items"]]
    return out


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with self.server.fake.lock:
            self.server.fake.connections.add(self.connection)

    def finish(self):
        with self.server.fake.lock:
            self.server.fake.connections.discard(self.connection)
        super().finish()

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def error_body(self, status, type_, reason):
        return {"error": {"type": type_, "reason": reason}, "status": status}

    def do_GET(self):
        self.answer(200, {"version": {"number": "8.13.0"}, "tagline": "fake"})

    def do_POST(self):
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        zipped = self.headers.get("Content-Encoding") == "gzip"
        record = {"status": None, "items": 0, "gzip": zipped, "query": query, "bytes": len(raw),
                  "at": time.monotonic()}
        with fake.lock:
            fake.requests.append(record)
        if fake.delay:
            threading.Event().wait(fake.delay)
        fault = fake.take_fault()
        if fault == "close":
            record["status"] = "closed"
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if not url.path.endswith("/_bulk"):
            record["status"] = 404
            return self.answer(404, self.error_body(404, "no_handler", self.path))
        if not fake.check_auth(self.headers.get("Authorization", "")):
            record["status"] = 401
            return self.answer(401, self.error_body(401, "security_exception",
                                                    "unable to authenticate user"),
                               [("WWW-Authenticate", 'Basic realm="security"')])
        if fault:
            status, retry_after = fault
            record["status"] = status
            headers = [("Retry-After", str(retry_after))] if retry_after is not None else []
            return self.answer(status, self.error_body(status, "injected", "injected fault"),
                               headers)
        if fake.max_body is not None and len(raw) > fake.max_body:
            record["status"] = 413
            return self.answer(413, self.error_body(413, "content_too_long",
                                                    "request body too large"))
        body = gzip.decompress(raw) if zipped else raw
        try:
            response = fake.bulk(body, query)
        except (ValueError, KeyError) as e:
            record["status"] = 400
            return self.answer(400, self.error_body(400, "illegal_argument_exception", str(e)))
        record["status"] = 200
        record["items"] = len(response.get("items", []))
        self.answer(200, response)


def make_certs(directory, names=("localhost",), ips=("127.0.0.1",)):
    """Creates a CA, a server certificate for `names`/`ips` and a client
    certificate, with the openssl command, in `directory` (created). Returns
    a dict of paths: ca, server_cert, server_key, client_cert, client_key."""
    os.makedirs(directory, exist_ok=True)

    def path(name):
        return os.path.join(directory, name)

    def run(args):
        subprocess.run(args, check=True, capture_output=True, timeout=60)

    def key_and_csr(name, cn):
        run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", path(name + ".key"), "-out", path(name + ".csr"),
             "-subj", f"/CN={cn}"])

    def sign(name, ext):
        with open(path(name + ".ext"), "w") as f:
            f.write(ext)
        run(["openssl", "x509", "-req", "-in", path(name + ".csr"), "-CA", path("ca.crt"),
             "-CAkey", path("ca.key"), "-CAcreateserial", "-days", "2", "-out",
             path(name + ".crt"), "-extfile", path(name + ".ext")])

    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", path("ca.key"), "-out", path("ca.crt"), "-days", "2",
         "-subj", "/CN=skiff test CA"])
    san = ",".join([f"DNS:{n}" for n in names] + [f"IP:{i}" for i in ips])
    key_and_csr("server", names[0])
    sign("server", f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
    key_and_csr("client", "skiff")
    sign("client", "extendedKeyUsage=clientAuth\n")
    return {"ca": path("ca.crt"), "server_cert": path("server.crt"),
            "server_key": path("server.key"), "client_cert": path("client.crt"),
            "client_key": path("client.key")}
