"""A fake Fluentd aggregator: the server side of Fluentd's forward protocol v1
(https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1,
"the spec" below), as Fluentd's in_forward plugin speaks it
(lib/fluent/plugin/in_forward.rb in fluent/fluentd, "in_forward" below).

Python 3 standard library only: the MessagePack it needs is in
fake_msgpack.py. It listens on 127.0.0.1 only, each connection on a thread
of its own with socket timeouts, and stops with stop(). Faults to test the
client with are constructor options; what arrived is kept in `events` (one
dict per record) and `messages` (one per forward message)."""

import gzip
import hashlib
import os
import socket
import ssl
import threading

import fake_msgpack as mp

HOST = "127.0.0.1"
# A connection's unread bytes are bounded: a client that sends more than this
# without a whole message is cut off.
MAX_BUFFERED = 64 << 20


def sha512_hex(*parts):
    h = hashlib.sha512()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
    return h.hexdigest()


class FakeFluentd:
    def __init__(self, shared_key=None, users=None, hostname="fake-fluentd", ack=True,
                 skip_acks=0, cut_first=0, wrong_pong_digest=False, keepalive=True, tls=None,
                 stall_helo=False):
        """shared_key: None (no <security> section: no handshake), or the
        key; users: {username: password} for user_auth; ack: answer acks;
        skip_acks: keep but do not acknowledge the first N chunks; cut_first:
        close the first N connections that carry a chunk after half of it;
        wrong_pong_digest: a PONG whose digest does not come from the key;
        keepalive: the HELO's keepalive (false: close after each answer);
        tls: None or {"cert", "key"}; stall_helo: never send the HELO."""
        self.shared_key = shared_key
        self.users = users
        self.hostname = hostname
        self.ack = ack
        self.skip_acks = skip_acks
        self.cut_first = cut_first
        self.wrong_pong_digest = wrong_pong_digest
        self.keepalive = keepalive
        self.stall_helo = stall_helo
        self.lock = threading.Lock()
        self.events = []     # {"tag", "sec", "nsec", "record", "chunk"}
        self.messages = []   # {"tag", "mode", "options", "count"}
        self.pings = []      # the PING messages, as received
        self.connections = 0
        self.handshakes_refused = 0
        self.acks_sent = 0
        self.stopping = False
        self.threads = []
        self.context = None
        if tls:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(tls["cert"], tls["key"])
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.address = f"{HOST}:{self.port}"

    def start(self):
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def stop(self):
        self.stopping = True
        for t in self.threads:
            t.join(timeout=5)
        self.sock.close()

    # ---- what arrived ----

    def event_count(self):
        with self.lock:
            return len(self.events)

    def seqs(self):
        with self.lock:
            return [e["record"].get("seq") for e in self.events]

    # ---- connections ----

    def _accept_loop(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                number = self.connections
            t = threading.Thread(target=self._serve, args=(conn, number), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, conn, number):
        try:
            conn.settimeout(0.2)
            if self.context:
                conn.settimeout(5)
                conn = self.context.wrap_socket(conn, server_side=True)
                conn.settimeout(0.2)
            Session(self, conn, number).run()
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass


class Session:
    """One client connection: the handshake when the server has a shared
    key, then forward messages, each answered with its ack."""

    def __init__(self, server, conn, number):
        self.server = server
        self.conn = conn
        self.number = number
        self.buffer = b""
        self.nonce = os.urandom(16)
        self.auth_salt = os.urandom(16)

    def recv_message(self, cut_at=None):
        """The next whole MessagePack value, or None when the client closed
        (or the server stops). cut_at: close once that many bytes of it
        arrived (the "connection cut mid-chunk" fault)."""
        while True:
            if cut_at is not None and len(self.buffer) >= cut_at:
                return None
            try:
                value, used = mp.unpack(self.buffer)
                self.buffer = self.buffer[used:]
                return value
            except mp.Incomplete:
                pass
            if len(self.buffer) > MAX_BUFFERED or self.server.stopping:
                return None
            try:
                data = self.conn.recv(65536)
            except (socket.timeout, ssl.SSLWantReadError):
                continue
            if not data:
                return None
            self.buffer += data

    def send(self, value):
        self.conn.sendall(mp.pack(value))

    def run(self):
        s = self.server
        if s.shared_key is not None:
            if s.stall_helo:
                self.recv_message()
                return
            if not self.handshake():
                return
        while True:
            cut = None
            with s.lock:
                if s.cut_first > 0:
                    s.cut_first -= 1
                    cut = 64
            message = self.recv_message(cut_at=cut)
            if message is None:
                return
            answer = self.on_message(message)
            if answer is not None:
                self.send(answer)
                with s.lock:
                    s.acks_sent += 1
            if not s.keepalive:
                # in_forward with deny_keepalive closes after its answer.
                return

    def handshake(self):
        s = self.server
        # Spec "HELO"; in_forward generate_helo: the auth salt is always
        # sent when <security> is set, and keepalive is !deny_keepalive.
        self.send(["HELO", {"nonce": self.nonce, "auth": self.auth_salt,
                            "keepalive": s.keepalive}])
        ping = self.recv_message()
        if ping is None:
            return False
        with s.lock:
            s.pings.append(ping)
        ok, reason, salt = self.check_ping(ping)
        if not ok:
            # in_forward: ['PONG', false, reason, '', ''], then it closes
            # the connection once the answer is written.
            with s.lock:
                s.handshakes_refused += 1
            self.send(["PONG", False, reason, "", ""])
            return False
        # Spec "PONG": sha512_hex(shared_key_salt + server_hostname + nonce
        # + shared_key); in_forward generate_pong.
        key = "not the key" if s.wrong_pong_digest else s.shared_key
        digest = sha512_hex(salt, s.hostname, self.nonce, key)
        self.send(["PONG", True, "", s.hostname, digest])
        return True

    def check_ping(self, ping):
        """in_forward check_ping: 6 elements, the key digest, then the user's
        password digest when user_auth is on."""
        s = self.server
        if not isinstance(ping, list) or len(ping) != 6 or ping[0] != "PING":
            return False, "invalid ping message", None
        _, hostname, salt, key_digest, username, password_digest = ping
        if key_digest != sha512_hex(salt, hostname, self.nonce, s.shared_key):
            return False, "shared_key mismatch", None
        if s.users is not None:
            password = s.users.get(username)
            if password is None or \
                    password_digest != sha512_hex(self.auth_salt, username, password):
                return False, "username/password mismatch", None
        return True, "", salt

    def on_message(self, message):
        """in_forward on_message: the mode from the second element (spec
        "Event Modes"); the answer per spec "Response"."""
        s = self.server
        if not isinstance(message, list) or len(message) < 2:
            return None
        tag, entries = message[0], message[1]
        options = message[2] if len(message) > 2 and isinstance(message[2], dict) else {}
        if isinstance(entries, (bytes, str)):
            raw = entries.encode() if isinstance(entries, str) else entries
            mode = "PackedForward"
            if options.get("compressed") == "gzip":
                # Spec "CompressedPackedForward Mode": gzip, possibly several
                # members concatenated.
                raw = gzip.decompress(raw)
                mode = "CompressedPackedForward"
            entries = mp.unpack_all(raw)
        else:
            mode = "Forward" if isinstance(entries, list) else "Message"
            entries = entries if isinstance(entries, list) else [[message[1], message[2]]]
        chunk = options.get("chunk")
        with s.lock:
            s.messages.append({"tag": tag, "mode": mode, "options": options,
                               "count": len(entries)})
            for time, record in entries:
                sec, nsec = (time.sec, time.nsec) if isinstance(time, mp.EventTime) \
                    else (time, 0)
                s.events.append({"tag": tag, "sec": sec, "nsec": nsec, "record": record,
                                 "chunk": chunk})
            if s.skip_acks > 0:
                s.skip_acks -= 1
                return None
        if chunk is None or not s.ack:
            return None
        return {"ack": chunk}
