"""A simulated Kubernetes node for the end-to-end tests and the benchmarks:
container log files laid out under a root folder the way the kubelet and a
CRI runtime (containerd, CRI-O) lay them out, written in CRI format, and
rotated the kubelet's way.

    <root>/var/log/pods/<namespace>_<pod>_<uid>/<container>/0.log
    <root>/var/log/containers/<pod>_<namespace>_<container>-<64-hex id>.log
        -> the 0.log above (a symlink)

Rotation (kubelet's container log manager): 0.log is renamed to
0.log.<YYYYMMDD-hhmmss>, a new 0.log is created, and the older rotated files
are gzipped (0.log.<ts>.gz), keeping the newest rotated file uncompressed.

Each container writes one kind of application log, with a sequence number
in every event so that tests can check delivery exactly once:

- json:  {"level":"info","seq":N,"msg":"..."}                (one line)
- plain: seq=N GET /api/v1/orders 200 ...                    (one line)
- java:  <date> ERROR seq=N ... then exception header and    (one event of
         "\\tat ..." frames                                     several lines)

Python 3 standard library only; nothing here starts threads by itself.
"""

import gzip
import hashlib
import json
import os
import shutil
import time

KINDS = ("json", "plain", "java")
JAVA_FRAMES = 6


def cri_time(t=None):
    """RFC 3339 with nanoseconds, as CRI runtimes write it."""
    t = time.time() if t is None else t
    ns = int(t * 1e9)
    sec, frac = divmod(ns, 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{frac:09d}Z"


def cri_line(text, stream="stdout", t=None):
    """One full CRI line (with its newline) as bytes."""
    return f"{cri_time(t)} {stream} F {text}\n".encode()


class Container:
    """One container of a pod on the simulated node."""

    def __init__(self, root, namespace, pod, container, kind, index=0):
        self.root = root
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.kind = kind
        digest = hashlib.sha256(f"{namespace}/{pod}/{container}".encode()).hexdigest()
        self.container_id = digest
        self.uid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
        self.image = f"registry.example.com/{container}:1.{index % 7}"
        self.pod_dir = os.path.join(root, "var", "log", "pods",
                                    f"{namespace}_{pod}_{self.uid}", container)
        self.path = os.path.join(self.pod_dir, "0.log")
        self.link = os.path.join(root, "var", "log", "containers",
                                 f"{pod}_{namespace}_{container}-{digest}.log")
        self.seq = 0            # next event number
        self.rotations = 0
        os.makedirs(self.pod_dir, exist_ok=True)
        os.makedirs(os.path.dirname(self.link), exist_ok=True)
        open(self.path, "ab").close()
        if not os.path.islink(self.link):
            os.symlink(self.path, self.link)

    def event_lines(self, seq, t=None):
        """The CRI lines of event `seq`, as bytes."""
        if self.kind == "json":
            body = json.dumps({"level": "info", "seq": seq, "msg": f"order {seq} served",
                               "latency_ms": seq % 97})
            return cri_line(body, t=t)
        if self.kind == "plain":
            return cri_line(f"seq={seq} GET /api/v1/orders/{seq} 200 {seq % 97}ms", t=t)
        head = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t or time.time()))
        lines = [f"{head} ERROR seq={seq} OrderService - request failed",
                 f"java.lang.IllegalStateException: order {seq} is locked"]
        lines += [f"\tat com.example.orders.Service.step{i}(Service.java:{100 + i})"
                  for i in range(JAVA_FRAMES)]
        return b"".join(cri_line(text, stream="stderr", t=t) for text in lines)

    def write(self, count, t=None):
        """Appends `count` events; returns the bytes written."""
        data = b"".join(self.event_lines(self.seq + i, t) for i in range(count))
        with open(self.path, "ab") as f:
            f.write(data)
        self.seq += count
        return len(data)

    def rotate(self, now=None):
        """Rotates 0.log the kubelet's way; older rotated files are gzipped."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now or time.time()))
        rotated = f"{self.path}.{stamp}"
        if os.path.exists(rotated):
            rotated += f".{self.rotations}"
        os.rename(self.path, rotated)
        open(self.path, "ab").close()
        self.rotations += 1
        for name in os.listdir(self.pod_dir):
            full = os.path.join(self.pod_dir, name)
            if name.startswith("0.log.") and not name.endswith(".gz") and full != rotated:
                with open(full, "rb") as src, gzip.open(full + ".gz", "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.unlink(full)
        return rotated

    def pod_object(self, node, resource_version="1"):
        """A Pod object as the API server returns it (the fields skiff uses)."""
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": self.pod, "namespace": self.namespace, "uid": self.uid,
                "resourceVersion": resource_version,
                "labels": {"app": self.container, "app.kubernetes.io/name": self.container,
                           "pod-template-hash": self.uid[:10]},
                "annotations": {"kubectl.kubernetes.io/default-container": self.container},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                     "name": f"{self.pod.rsplit('-', 1)[0]}",
                                     "uid": self.uid, "controller": True}],
            },
            "spec": {"nodeName": node, "containers": [{"name": self.container,
                                                       "image": self.image}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": self.container, "image": self.image,
                "imageID": f"{self.image.split(':')[0]}@sha256:{self.container_id}",
                "containerID": f"containerd://{self.container_id}", "ready": True}]},
        }


class Node:
    """`count` containers (one per pod) of the three kinds, in a few
    namespaces, under `root`."""

    def __init__(self, root, count, name="node-1", kinds=KINDS):
        self.root = root
        self.name = name
        self.containers = []
        for i in range(count):
            kind = kinds[i % len(kinds)]
            namespace = ("shop", "payments", "search")[i % 3]
            pod = f"{kind}-app-{i:03d}-7d9f8b6c5d-{i:05x}"
            self.containers.append(Container(root, namespace, pod, f"{kind}-app", kind, i))

    @property
    def containers_glob(self):
        return os.path.join(self.root, "var", "log", "containers", "*.log")

    def pods(self):
        return [c.pod_object(self.name) for c in self.containers]

    def expected_events(self):
        """{(namespace, pod, container): number of events written}."""
        return {(c.namespace, c.pod, c.container): c.seq for c in self.containers}
