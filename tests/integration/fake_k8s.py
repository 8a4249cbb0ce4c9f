"""A fake Kubernetes API server (and kubelet /pods) for the integration tests
of the `kubernetes` filter. Python standard library only; listens on
127.0.0.1 on an ephemeral port, over HTTPS with a CA and server certificate
made with the openssl command (or plain HTTP).

It keeps pods and namespaces with resourceVersions and an event log, and
serves what the filter uses:

  GET /api/v1/pods?fieldSelector=spec.nodeName=N          LIST (PodList)
  GET /api/v1/pods?...&watch=1&resourceVersion=R          WATCH: chunked,
                                                           one JSON event a line
  GET /api/v1/namespaces/NS/pods/NAME                      GET
  GET /api/v1/namespaces[?watch=1...]                      LIST / WATCH
  GET /pods                                                the kubelet's list

A bearer token is required (401 otherwise) unless the fake is made with
token=None, as `kubectl proxy` serves. Tests inject faults: 410 Gone
(compaction, or an ERROR event), an outage (nothing listens), malformed and
truncated watch events; echo_headers (a status) answers every request with
it and a message quoting the request's headers, Authorization included, as a
misbehaving proxy in front of the API server would. Every request is counted by verb ("list", "watch",
"get", "kubelet") and path.

Watches end by themselves (timeoutSeconds, at most WATCH_MAX_S) and every
thread stops on close(), so a test never leaves anything running."""

import collections
import hashlib
import http.server
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse

HOST = "127.0.0.1"
WATCH_MAX_S = 60


def make_tls(directory):
    """Creates a CA and a server certificate for 127.0.0.1 in `directory` with
    the openssl command; returns (ca_file, cert_file, key_file)."""
    ca_key, ca_crt = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.crt")
    key, csr, crt = (os.path.join(directory, n) for n in ("server.key", "server.csr",
                                                          "server.crt"))
    ext = os.path.join(directory, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
        "-days", "2", "-subj", "/CN=skiff-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-out", crt, "-days", "2", "-extfile", ext)
    return ca_crt, crt, key


def container_id(pod_name, container):
    """A stable 64-hex container id for a pod's container."""
    return hashlib.sha256(f"{pod_name}/{container}".encode()).hexdigest()


def make_pod(name, namespace="default", node="node-1", uid=None, labels=None,
             annotations=None, containers=("app",), image="registry.example/app:1.0",
             owner=("ReplicaSet", None), runtime="containerd"):
    """A Pod object shaped like the API server's, Running, with statuses."""
    uid = uid or str(__import__("uuid").uuid5(__import__("uuid").NAMESPACE_DNS,
                                              f"{namespace}/{name}"))
    metadata = {
        "name": name, "namespace": namespace, "uid": uid,
        "creationTimestamp": "2026-11-23T05:00:00Z",
        "labels": dict(labels or {"app": name.rsplit("-", 1)[0]}),
        "annotations": dict(annotations or {}),
    }
    if owner:
        kind, owner_name = owner
        metadata["ownerReferences"] = [{
            "apiVersion": "apps/v1", "kind": kind, "name": owner_name or name.rsplit("-", 1)[0],
            "uid": "0d0c0b0a-0000-1111-2222-333344445555", "controller": True,
            "blockOwnerDeletion": True}]
    spec = {"nodeName": node, "restartPolicy": "Always", "serviceAccountName": "default",
            "containers": [{"name": c, "image": image,
                            "resources": {"requests": {"cpu": "10m"}}} for c in containers]}
    status = {"phase": "Running", "podIP": "10.244.0.10", "hostIP": "192.168.0.10",
              "containerStatuses": [{
                  "name": c, "ready": True, "restartCount": 0, "started": True,
                  "image": image, "imageID": image.split(":")[0] + "@sha256:" +
                  hashlib.sha256(image.encode()).hexdigest(),
                  "containerID": f"{runtime}://{container_id(name, c)}",
                  "state": {"running": {"startedAt": "2026-11-23T05:00:01Z"}}}
                  for c in containers]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec,
            "status": status}


def make_namespace(name, labels=None, annotations=None):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "uid": f"ns-{name}", "labels": dict(labels or {}),
                         "annotations": dict(annotations or {})},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


class _Watch:
    """One open watch stream: events queued for its handler thread."""

    def __init__(self, kind):
        self.kind = kind
        self.queue = collections.deque()
        self.closed = False


class FakeK8s:
    def __init__(self, tmpdir=None, token="token-1", tls=True, node="node-1"):
        self.node = node
        self.token = token
        self.lock = threading.Condition()
        self.rv = 1000
        self.objects = {"pods": {}, "namespaces": {}}
        self.log = []  # (rv, kind, type, object) for watches that resume
        self.compacted_rv = 0  # watches from an older version get 410
        self.watches = []
        self.watches_started = 0
        self.gone_next_watch = False
        self.counts = collections.Counter()
        self.paths = collections.Counter()
        self.unauthorized = 0
        self.echo_headers = None  # a status: answer it quoting the request's headers
        self.list_delay = {}
        self.stopping = False
        self.ca_file = None
        self._context = None
        if tls:
            self.ca_file, cert, key = make_tls(tmpdir)
            self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._context.load_cert_chain(cert, key)
        self.port = None
        self._server = None
        self._thread = None
        self.start()

    # ---- the server ----

    @property
    def url(self):
        return f"{'https' if self._context else 'http'}://{HOST}:{self.port}"

    def start(self):
        """Listens (again, on the same port after an outage)."""
        fake = self

        class Handler(_Handler):
            server_fake = fake

        server = http.server.ThreadingHTTPServer((HOST, self.port or 0), Handler)
        server.daemon_threads = True
        if self._context:
            server.socket = self._context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()

    def outage(self):
        """Stops listening and ends every watch: the API server is down."""
        self._end_watches()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def close(self):
        self.stopping = True
        self.outage()

    def _end_watches(self):
        with self.lock:
            for w in self.watches:
                w.closed = True
            self.lock.notify_all()

    # ---- state ----

    def _record(self, kind, type_, obj):
        """Under the lock: a new version, logged and sent to the watches."""
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        snapshot = json.loads(json.dumps(obj))
        self.log.append((self.rv, kind, type_, snapshot))
        for w in self.watches:
            if w.kind == kind:
                w.queue.append(json.dumps({"type": type_, "object": snapshot}).encode() + b"\n")
        self.lock.notify_all()

    def add_pod(self, pod):
        with self.lock:
            key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
            type_ = "MODIFIED" if key in self.objects["pods"] else "ADDED"
            self.objects["pods"][key] = pod
            self._record("pods", type_, pod)

    def add_pods(self, pods):
        """Many pods at once, without events (before skiff starts)."""
        with self.lock:
            for pod in pods:
                self.rv += 1
                pod["metadata"]["resourceVersion"] = str(self.rv)
                self.objects["pods"][(pod["metadata"]["namespace"],
                                      pod["metadata"]["name"])] = pod

    def delete_pod(self, namespace, name):
        with self.lock:
            pod = self.objects["pods"].pop((namespace, name))
            self._record("pods", "DELETED", pod)

    def add_namespace(self, ns):
        with self.lock:
            key = ns["metadata"]["name"]
            type_ = "MODIFIED" if key in self.objects["namespaces"] else "ADDED"
            self.objects["namespaces"][key] = ns
            self._record("namespaces", type_, ns)

    def compact(self):
        """Forgets the event log: a watch from an older version gets 410."""
        with self.lock:
            self.compacted_rv = self.rv
            self.log = []

    def send_raw(self, data, kind="pods", end=False):
        """Sends bytes as they are on the open watches; `end` then ends them."""
        with self.lock:
            for w in self.watches:
                if w.kind == kind:
                    w.queue.append(data)
                    if end:
                        w.queue.append(None)
            self.lock.notify_all()

    def send_gone(self, kind="pods"):
        """An ERROR event with code 410, as a server sends on compaction."""
        status = {"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "too old resource version", "reason": "Expired", "code": 410}}
        self.compact()
        self.send_raw(json.dumps(status).encode() + b"\n", kind, end=True)

    def open_watches(self, kind="pods"):
        with self.lock:
            return sum(1 for w in self.watches if w.kind == kind and not w.closed)

    def count(self, verb):
        with self.lock:
            return self.counts[verb]

    def wait_watch(self, timeout=20, started=1):
        """Waits until `started` watches were opened since the start (a
        watch a client left may still count as open until written to)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.watches_started >= started:
                    return
            time.sleep(0.05)
        raise AssertionError(f"fewer than {started} watches opened after {timeout}s")

    def send_latest(self, data, end=False):
        """Sends bytes on the newest pods watch only; `end` then ends it."""
        with self.lock:
            watches = [w for w in self.watches if w.kind == "pods"]
            if watches:
                watches[-1].queue.append(data)
                if end:
                    watches[-1].queue.append(None)
            self.lock.notify_all()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake = None

    def log_message(self, fmt, *args):
        pass

    def _send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code, reason, message):
        self._send_json(code, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                               "status": "Failure", "message": message, "reason": reason,
                               "code": code})

    def do_GET(self):
        fake = self.server_fake
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        parts = [p for p in url.path.split("/") if p]
        watch = query.get("watch") in ("1", "true")
        if url.path == "/pods":
            verb = "kubelet"
        elif parts[:3] == ["api", "v1", "pods"] or parts == ["api", "v1", "namespaces"]:
            verb = "watch" if watch else "list"
        elif len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
            verb = "get"
        else:
            verb = "other"
        with fake.lock:
            fake.counts[verb] += 1
            fake.paths[url.path] += 1
            token = fake.token
            echo = fake.echo_headers
        if echo:
            # A misbehaving proxy in front of the API server that quotes the
            # request back in its error page (the API server never does).
            quoted = "".join(f"{k}: {v}; " for k, v in self.headers.items())
            return self._status(echo, "InternalError", f"proxy error, request was: {quoted}")
        # token None: no credentials asked, as behind `kubectl proxy`, which
        # serves the API on plain http://127.0.0.1:8001 and adds its own.
        if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
            with fake.lock:
                fake.unauthorized += 1
            return self._status(401, "Unauthorized", "Unauthorized")
        kind = "namespaces" if parts == ["api", "v1", "namespaces"] else "pods"
        if verb == "kubelet":
            return self._list("pods", None)
        if verb == "list":
            return self._list(kind, query.get("fieldSelector"))
        if verb == "watch":
            return self._watch(kind, query)
        if verb == "get":
            with fake.lock:
                pod = fake.objects["pods"].get((parts[3], parts[5]))
            if pod is None:
                return self._status(404, "NotFound", f'pods "{parts[5]}" not found')
            return self._send_json(200, pod)
        return self._status(404, "NotFound", "the server could not find the requested resource")

    def _selected(self, kind, selector):
        fake = self.server_fake
        items = list(fake.objects[kind].values())
        if kind == "pods" and selector:
            field, _, value = selector.partition("=")
            if field != "spec.nodeName":
                return None
            # A pod not yet scheduled has no spec.nodeName (and an object
            # a test serves as it is may have no spec at all).
            items = [p for p in items if (p.get("spec") or {}).get("nodeName") == value]
        return items

    def _list(self, kind, selector):
        fake = self.server_fake
        # An API server answers each LIST on its own: the namespaces' may come
        # after the pods' (list_delay: kind -> seconds, at most 10).
        time.sleep(min(fake.list_delay.get(kind, 0.0), 10.0))
        with fake.lock:
            items = self._selected(kind, selector)
            if items is None:
                return self._status(400, "BadRequest", "field label not supported")
            body = {"kind": "PodList" if kind == "pods" else "NamespaceList",
                    "apiVersion": "v1", "metadata": {"resourceVersion": str(fake.rv)},
                    "items": json.loads(json.dumps(items))}
        self._send_json(200, body)

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _watch(self, kind, query):
        fake = self.server_fake
        node = None
        selector = query.get("fieldSelector", "")
        if selector.startswith("spec.nodeName="):
            node = selector.partition("=")[2]
        since = int(query.get("resourceVersion") or 0)
        timeout = min(int(query.get("timeoutSeconds") or WATCH_MAX_S), WATCH_MAX_S)
        w = _Watch(kind)
        with fake.lock:
            if (since and since < fake.compacted_rv) or fake.gone_next_watch:
                fake.gone_next_watch = False
                gone = True
            else:
                gone = False
                for rv, k, type_, obj in fake.log:
                    if k == kind and rv > since:
                        w.queue.append(json.dumps({"type": type_, "object": obj}).encode()
                                       + b"\n")
                fake.watches.append(w)
                fake.watches_started += 1
        if gone:
            return self._status(410, "Expired", f"too old resource version: {since}")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deadline = time.monotonic() + timeout
        try:
            while True:
                with fake.lock:
                    while not w.queue and not w.closed and time.monotonic() < deadline:
                        fake.lock.wait(0.1)
                    if w.closed or (not w.queue and time.monotonic() >= deadline):
                        break
                    data = w.queue.popleft()
                if data is None:
                    break
                if node and kind == "pods" and b'"nodeName"' in data and \
                        f'"nodeName": "{node}"'.encode() not in data:
                    continue
                self._chunk(data)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        finally:
            with fake.lock:
                w.closed = True
                if w in fake.watches:
                    fake.watches.remove(w)
            self.close_connection = True
