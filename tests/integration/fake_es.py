"""A fake Elasticsearch for the integration tests that answers as the real
servers do: Elasticsearch 8.15+ ("es8", the default; 9 where it is the same),
Elasticsearch 7.17 ("es7") and OpenSearch 2 ("opensearch2"). It binds
127.0.0.1 only, speaks HTTP or HTTPS (optionally requiring a client
certificate) and replays the real responses kept in ../shared/es-responses/
(fake_es_replay.py); the rules it applies are in fake_es_rules.py, each with
the place the real server has it. Python standard library only.

The `_bulk` API (POST or PUT /_bulk and /<index>/_bulk): index, create,
delete and update actions; gzip bodies; the pipeline, require_alias and
filter_path parameters; data streams for logs-*-*; strict JSON; the index
name and _id rules; per-item status and errors. GET / answers the cluster
info of the mode. Auth is checked before routing.

What tests read: `docs` {(index or data stream, _id): source}, `writes`
Counter of successful writes per key, `requests` (one dict per request:
method, path, query, headers {lower-case name: [values]}, ops, status,
items, gzip, bytes, at), `pipelined` {key: pipeline}, `item_statuses` Counter
of the bulk items' statuses, doc_count(), statuses().

Knobs (set the attributes; thread-safe through `lock`):
  request_faults   list of (status, retry_after or None[, response file]),
                   one taken per bulk request: the whole request answers
                   that status with a real body (fault_body)
  close_requests   how many next requests are closed without an answer
  delay            seconds to wait before answering each request
  item_429_once    ids whose first write answers item_429_es_rejected.json
  item_503_once    ids whose first write answers item_503_unavailable_shards
  reject_field     a field name: documents having it fail to parse as long
  max_content_length  http.max_content_length in bytes (alias max_body)
  indexing_pressure_limit  bytes: a bulk body alone over it answers 429
  privileges       "all" or "create_doc" (index ops with an _id get 403)
  write_blocked    set of index names with a write block (item 403)
  flood_stage      True: every item answers the flood-stage block (429)
  pipelines        set of ingest pipeline names (or dict name -> function)
  echo_headers     an HTTP status: every request is answered that status
                   with a text body quoting the request's headers, as a
                   misbehaving proxy or debug endpoint does (e.g. an nginx
                   error page built with `return 502 "$http_authorization"`,
                   or httpbin's /headers); Elasticsearch never does. Tried
                   before auth, as a proxy in front of the cluster would be
  answer_padding_per_item  bytes of trailing whitespace per item added to a
                   bulk answer (0: none). No Elasticsearch does this: it
                   stands for an answer too large to hold (a proxy's or a
                   broken node's), to try the client's response bounds
"""

import base64
import hashlib
import http.server
import os
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import zlib
from collections import Counter

import fake_es_bulk
from fake_es_replay import CLUSTER_INFO, MODES, dumps, error_body, response
from fake_es_replay import text_body, unauthorized_body, www_authenticate
from fake_es_rules import MediaTypeError, check_media_types

READ_CHUNK = 64 * 1024


class FakeElasticsearch(fake_es_bulk.BulkMixin):
    def __init__(self, mode="es8", tls=None, user=None, password=None, api_key=None, port=0):
        """tls: None for HTTP, or a dict with cert, key and optionally
        client_ca (then a client certificate signed by it is required)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        self.lock = threading.Lock()
        self.connections = set()
        self.docs = {}
        self.writes = Counter()
        self.versions = Counter()
        self.seq_nos = Counter()
        self.data_streams = {}  # name -> backing index
        self.index_uuids = {}
        self.pipelined = {}
        self.item_statuses = Counter()  # bulk item status -> how many answered
        self.requests = []
        self.request_faults = []
        self.close_requests = 0
        self.delay = 0.0
        self.item_429_once = set()
        self.item_503_once = set()
        self.reject_field = None
        self.max_content_length = None
        self.indexing_pressure_limit = None
        self.answer_padding_per_item = 0
        self.privileges = "all"
        self.write_blocked = set()
        self.flood_stage = False
        self.pipelines = set()
        self.echo_headers = None
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

    # The old name of max_content_length (the tests of 413 set it).
    @property
    def max_body(self):
        return self.max_content_length

    @max_body.setter
    def max_body(self, value):
        self.max_content_length = value

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

    @property
    def product_headers(self):
        """X-elastic-product: Elasticsearch on every response of 7.14+ and 8
        (RestController adds it; clients of 7.14+ refuse a server without
        it). OpenSearch does not send it."""
        return [] if self.mode == "opensearch2" else [("X-elastic-product", "Elasticsearch")]

    # ---- auth: checked before routing, on every path ----

    def auth_failure(self, header, uri):
        """None when the request may go on, else (status, body, headers).
        Elasticsearch: 401 security_exception with the WWW-Authenticate
        challenges of req_401_missing_credentials.json (missing: "missing
        authentication credentials for REST request [uri]"; wrong: "unable
        to authenticate user [name] for REST request [uri]",
        DefaultAuthenticationFailureHandler). OpenSearch's security plugin
        answers 401 text "Unauthorized" with WWW-Authenticate: Basic
        realm="OpenSearch Security" (HTTPBasicAuthenticator; constructed)."""
        if self.user is None and self.api_key is None:
            return None
        if self.api_key is not None and header == f"ApiKey {self.api_key}":
            return None
        if self.user is not None:
            pair = f"{self.user}:{self.password}".encode()
            if header == "Basic " + base64.b64encode(pair).decode():
                return None
        if self.mode == "opensearch2":
            return 401, "Unauthorized", [("Content-Type", "text/plain; charset=UTF-8"),
                                         ("WWW-Authenticate", 'Basic realm="OpenSearch Security"')]
        principal = None
        scheme, _, credentials = header.partition(" ")
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
            if scheme.lower() == "basic":
                principal = decoded.split(":", 1)[0]
            elif scheme.lower() == "apikey":
                principal = decoded.split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            principal = None
        if principal is None:
            reason = f"missing authentication credentials for REST request [{uri}]"
        else:
            reason = f"unable to authenticate user [{principal}] for REST request [{uri}]"
        return 401, unauthorized_body(reason), www_authenticate()

    def take_fault(self):
        """The whole-request fault for this request, or None."""
        with self.lock:
            if self.close_requests > 0:
                self.close_requests -= 1
                return "close"
            if self.request_faults:
                return self.request_faults.pop(0)
        return None


def fault_body(status, name=None):
    """The body of an injected whole-request fault: the file `name` if given
    (its body verbatim), else a real one for the status: 400 the _type
    refusal (req_400_type_unknown.json), 429 the circuit breaker
    (req_429_circuit_breaker.json), 503 the envelope of a real cluster block
    "blocked by: [SERVICE_UNAVAILABLE/2/no master];" (NoMasterBlockService,
    constructed); other statuses a generic envelope."""
    if name:
        return text_body(name)
    if status == 400:
        return text_body("req_400_type_unknown")
    if status == 429:
        return text_body("req_429_circuit_breaker")
    if status == 503:
        return dumps(error_body("cluster_block_exception",
                                "blocked by: [SERVICE_UNAVAILABLE/2/no master];", 503))
    return dumps(error_body("exception", f"injected fault {status}", status))


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    record = None

    def setup(self):
        super().setup()
        with self.server.fake.lock:
            self.server.fake.connections.add(self.connection)

    def finish(self):
        with self.server.fake.lock:
            self.server.fake.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, fmt, *args):
        pass

    def send_response(self, code, message=None):
        # Elasticsearch sends neither Server nor Date.
        self.send_response_only(code, message)

    # ---- helpers ----

    def header_lists(self):
        out = {}
        for name, value in self.headers.items():
            out.setdefault(name.lower(), []).append(value)
        return out

    def new_record(self):
        fake = self.server.fake
        url = urllib.parse.urlsplit(self.path)
        record = {"method": self.command, "path": url.path,
                  "query": dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)),
                  "headers": self.header_lists(), "ops": [], "status": None, "items": 0,
                  "gzip": (self.headers.get("Content-Encoding") or "").lower() == "gzip",
                  "bytes": 0, "at": time.monotonic()}
        with fake.lock:
            fake.requests.append(record)
        return record

    def answer(self, status, body, headers=(), content_type=None):
        if content_type is None:
            # The replayed files' content-type (8.x); 7.x and OpenSearch 2
            # still add "; charset=UTF-8" (RestResponse of the 7.10 line).
            content_type = response("spec_bulk_ok_mixed_ops")["headers"][0][1]
            if self.server.fake.mode != "es8":
                content_type += "; charset=UTF-8"
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        names = {k.lower() for k, _ in headers}
        if "content-type" not in names and content_type:
            self.send_header("content-type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        for name, value in self.server.fake.product_headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.record["status"] = status

    def too_large(self):
        """req_413_netty.json: 413, empty body, content-length: 0,
        connection: close, and the channel closed without reading the rest
        of the body (Netty4HttpContentSizeHandler TOO_LARGE_CLOSE then
        ChannelFutureListener.CLOSE). Sent by Netty, so no product header."""
        spec = response("req_413_netty")
        self.send_response_only(spec["status"])
        for name, value in spec["headers"]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        self.record["status"] = 413

    def content_length(self):
        try:
            return int(self.headers.get("Content-Length", ""))
        except ValueError:
            return None

    def over_limit_early(self):
        """Netty4HttpContentSizeHandler.handleRequest: HttpUtil.getContentLength
        > maxContentLength. The handler sits after HttpContentDecompressor
        (Netty4HttpServerTransport pipeline: decoder_compress, then the
        aggregator that holds the size handler), and the decompressor drops
        Content-Length of a gzip body, so only an identity body is refused
        from its header; a gzip body is measured as it inflates."""
        limit = self.server.fake.max_content_length
        length = self.content_length()
        return (limit is not None and length is not None and length > limit
                and (self.headers.get("Content-Encoding") or "identity").lower() == "identity")

    def handle_expect_100(self):
        # Netty4HttpContentSizeHandler: "Expect: 100-continue" answers 413
        # (and closes) when Content-Length is over the limit, else 100 Continue.
        if self.over_limit_early():
            self.record = self.new_record()
            self.record["bytes"] = self.content_length()
            self.too_large()
            return False
        self.send_response_only(100)
        self.end_headers()
        return True

    def read_chunks(self, limit=None):
        """A chunked body; with `limit`, the chunks until they pass it (the
        rest is left unread). Returns (body, over)."""
        parts, size_read = [], 0
        for _ in range(1 << 20):
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass
                break
            parts.append(self.rfile.read(size))
            self.rfile.readline()
            size_read += size
            if limit is not None and size_read > limit:
                return b"".join(parts), True
        return b"".join(parts), False

    def too_large_while_chunked(self):
        """Netty4HttpContentSizeHandler.handleContent: an identity chunked
        body is counted as it arrives and answered TOO_LARGE_CLOSE as soon
        as it passes the limit, while the client may still be sending.
        Elasticsearch closes at once; the fake reads the rest first, so that
        the client's view (the answer before its upload ended) does not
        depend on a reset racing the answer. Returns whether it answered."""
        limit = self.server.fake.max_content_length
        if limit is None or (self.headers.get("Content-Encoding") or "identity") != "identity":
            return False
        raw, over = self.read_chunks(limit)
        self.record["bytes"] = len(raw)
        if not over:
            self.chunked_body = raw
            return False
        self.too_large()
        self.read_chunks()
        return True

    def read_raw(self):
        """The body as sent (Content-Length or chunked), bounded."""
        if getattr(self, "chunked_body", None) is not None:
            raw, self.chunked_body = self.chunked_body, None
            return raw
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            return self.read_chunks()[0]
        length = self.content_length() or 0
        chunks, left = [], length
        while left > 0:
            chunk = self.rfile.read(min(READ_CHUNK, left))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    # ---- requests ----

    def do_GET(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def dispatch(self):
        fake = self.server.fake
        self.record = record = self.new_record()
        if fake.delay:
            threading.Event().wait(fake.delay)
        url = urllib.parse.urlsplit(self.path)
        expect = self.headers.get("Expect")
        if expect is not None and expect.lower() != "100-continue":
            # Netty4HttpContentSizeHandler: any other Expect is answered
            # 417 EXPECTATION_FAILED_CLOSE (content-length 0, connection close).
            self.send_response_only(417)
            self.send_header("content-length", "0")
            self.send_header("connection", "close")
            self.end_headers()
            self.close_connection = True
            record["status"] = 417
            return None
        if fake.echo_headers:
            self.read_raw()
            quoted = "; ".join(f"{k}: {v}" for k, v in self.headers.items())
            auth = self.headers.get("Authorization", "")
            return self.answer(fake.echo_headers, f"bad credentials: {auth}; request: {quoted}",
                               content_type="text/plain")
        denied = fake.auth_failure(self.headers.get("Authorization", ""), self.path)
        if denied is None and self.over_limit_early():
            record["bytes"] = self.content_length()
            return self.too_large()
        chunked = (self.headers.get("Transfer-Encoding") or "").lower() == "chunked"
        if denied is None and chunked and self.too_large_while_chunked():
            return None
        raw = self.read_raw()
        record["bytes"] = len(raw)
        record["sha256"] = hashlib.sha256(raw).hexdigest()  # the body as sent, for comparisons
        if denied is not None:
            status, body, headers = denied
            return self.answer(status, body, headers)
        body = raw
        if record["gzip"] and raw:
            try:
                body = inflate(raw, fake.max_content_length)
            except zlib.error as e:
                return self.answer(400, dumps(error_body("illegal_argument_exception",
                                                         f"cannot decompress the body: {e}", 400)))
            if body is None:  # grew over http.max_content_length while inflating
                return self.too_large()
        elif fake.max_content_length is not None and len(body) > fake.max_content_length:
            return self.too_large()  # chunked upload counted as it arrived
        headers = self.header_lists()
        try:
            compat = check_media_types(fake.mode, headers.get("content-type", []),
                                       headers.get("accept", []), bool(body))
        except MediaTypeError as e:
            return self.answer(e.status, e.body)
        content_type = None
        if compat:
            content_type = f"application/vnd.elasticsearch+json;compatible-with={compat}"
        parts = [p for p in url.path.split("/") if p]
        if parts in ([], ) and self.command in ("GET", "HEAD"):
            return self.answer(200, dumps(CLUSTER_INFO[fake.mode]), content_type=content_type)
        if not parts or parts[-1] != "_bulk" or len(parts) > 2:
            # RestController.handleBadRequest: no handler for this path.
            return self.answer(400, dumps({"error": f"no handler found for uri [{self.path}] and "
                                                    f"method [{self.command}]", "status": 400}))
        if self.command not in ("POST", "PUT"):
            # RestController.handleUnsupportedHttpMethod.
            return self.answer(405, dumps({"error": f"Incorrect HTTP method for uri [{self.path}] "
                                                    f"and method [{self.command}], allowed: "
                                                    "[POST, PUT]", "status": 405}),
                               [("Allow", "POST,PUT")])
        fault = fake.take_fault()
        if fault == "close":
            record["status"] = "closed"
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if fault:
            status, retry_after = fault[0], fault[1]
            extra = [("Retry-After", str(retry_after))] if retry_after is not None else []
            return self.answer(status, fault_body(status, fault[2] if len(fault) > 2 else None),
                               extra)
        result = fake.bulk(body, record, index=parts[0] if len(parts) == 2 else None,
                           compat=compat)
        status, text = result
        return self.answer(status, text, content_type=content_type)


def inflate(raw, limit):
    """The gzip body inflated, or None as soon as it grows over `limit`
    (the size handler counts decompressed content as it streams)."""
    out, size = [], 0
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for start in range(0, len(raw), READ_CHUNK):
        piece = d.decompress(raw[start:start + READ_CHUNK])
        size += len(piece)
        if limit is not None and size > limit:
            return None
        out.append(piece)
    out.append(d.flush())
    return b"".join(out)


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

