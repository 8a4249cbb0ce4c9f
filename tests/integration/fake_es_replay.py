"""The real responses fake_es.py replays, and the bodies it builds around them.

The files come from ../shared/es-responses/ beside the repository (see its
README.md: each one is a response a real server sent or specified, with its
source). They are read at import time, never changed. Where a per-request
field is filled in (index name, _id, took, _seq_no, the request's URI in a
reason text, the byte counts of an indexing-pressure message) the function
that does it says so; every other byte, message texts included, is the
file's. Python 3 standard library only.
"""

import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
# <repo>/tests/integration/../../../shared/es-responses: the shared folder
# beside the repository (in CI the repository is cloned with shared/ beside it).
RESPONSES_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "es-responses"))

MODES = ("es8", "es7", "opensearch2")


def _load_all():
    out = {}
    if not os.path.isdir(RESPONSES_DIR):
        raise FileNotFoundError(f"fake_es: the real responses are missing: {RESPONSES_DIR}")
    for name in sorted(os.listdir(RESPONSES_DIR)):
        if name.endswith(".json"):
            with open(os.path.join(RESPONSES_DIR, name), encoding="utf-8") as f:
                out[name[:-5]] = json.load(f)
    return out


RESPONSES = _load_all()


def response(name):
    """A deep copy of the replayed file `name` (without .json)."""
    return copy.deepcopy(RESPONSES[name])


def file_item(name):
    """(op, fields) of the file's one bulk item, deep-copied."""
    (op, fields), = response(name)["item"].items()
    return op, fields


def dumps(obj):
    """JSON as Elasticsearch writes it without ?pretty: no spaces."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def error_body(type_, reason, status, caused_by=None, extra=None):
    """The REST error envelope of ElasticsearchException.generateFailureXContent
    (elastic/elasticsearch ElasticsearchException / RestResponse): root_cause
    holds the innermost Elasticsearch exception's type and reason; error
    bodies are not filtered by filter_path (AbstractRestChannel.newErrorBuilder)."""
    inner = {"type": type_, "reason": reason}
    if extra:
        inner.update(extra)
    error = {"root_cause": [dict(inner)]}
    error.update(inner)
    if caused_by:
        error["caused_by"] = caused_by
    return {"error": error, "status": status}


# ---- bulk items built from the files ----

def item_from(name, op, index, doc_id, fill_reason=None):
    """The file's item with `op`, `_index` and `_id` filled in (fill-ins:
    op type, index name, _id; the error type/reason/status are the file's,
    except where `fill_reason` maps the file's words to this request's)."""
    _, fields = file_item(name)
    out = {"_index": index}
    if doc_id is not None:
        out["_id"] = doc_id
    for key, value in fields.items():
        if key in ("_index", "_id"):
            continue
        out[key] = value
    if fill_reason and "error" in out:
        reason = out["error"]["reason"]
        for old, new in fill_reason.items():
            reason = reason.replace(old, new)
        out["error"]["reason"] = reason
        if "index" in out["error"]:
            out["error"]["index"] = index
    return {op: out}


def created_item(op, index, doc_id, version, seq_no, created, es7=False):
    """A successful write in the shape of ds_item_created.json (captured
    from a real 8.x cluster): _index, _id, _version, result, _shards,
    _seq_no, _primary_term, status. Fill-ins: op, _index, _id, _version,
    result/status (201 created, 200 updated as in spec_bulk_ok_mixed_ops),
    _seq_no. Elasticsearch 7 also answers _type: _doc after _index."""
    _, fields = file_item("ds_item_created")
    out = {"_index": index}
    if es7:
        out["_type"] = "_doc"
    out["_id"] = doc_id
    out["_version"] = version
    out["result"] = "created" if created else "updated"
    out["_shards"] = fields["_shards"]
    out["_seq_no"] = seq_no
    out["_primary_term"] = fields["_primary_term"]
    out["status"] = 201 if created else 200
    return {op: out}


# ---- request-level bodies ----

def text_body(name, fill=None):
    """The file's body text as sent, with `fill` (old -> new) replacements."""
    body = RESPONSES[name]["body"]
    for old, new in (fill or {}).items():
        body = body.replace(old, new)
    return body


def unauthorized_body(reason):
    """The 401 of req_401_missing_credentials.json with its reason replaced
    (fill-in: the reason, which names the request's URI, and for wrong
    credentials the user: "unable to authenticate user [<user>] for REST
    request [<uri>]", DefaultAuthenticationFailureHandler.failedAuthentication
    in elastic/elasticsearch x-pack security)."""
    body = json.loads(RESPONSES["req_401_missing_credentials"]["body"])
    body["error"]["reason"] = reason
    body["error"]["root_cause"][0]["reason"] = reason
    return dumps(body)


def www_authenticate():
    """The WWW-Authenticate headers of req_401_missing_credentials.json."""
    return [(k, v) for k, v in RESPONSES["req_401_missing_credentials"]["headers"]
            if k.lower() == "www-authenticate"]


# GET / (RestMainAction): what a client sees of the cluster. Constructed in
# the documented shape of each product's root endpoint; version numbers are
# the ones each mode stands for.
CLUSTER_INFO = {
    "es8": {"name": "fake-es-0", "cluster_name": "skiff-fake", "cluster_uuid": "Z3ZpbGx3cmFsbXNwaGxxbg",
            "version": {"number": "8.15.3", "build_flavor": "default", "build_type": "docker",
                        "build_hash": "f97532e680b555c3a05e73a74c28afb666923018",
                        "build_date": "2024-10-09T22:08:00.328917561Z", "build_snapshot": False,
                        "lucene_version": "9.11.1",
                        "minimum_wire_compatibility_version": "7.17.0",
                        "minimum_index_compatibility_version": "7.0.0"},
            "tagline": "You Know, for Search"},
    "es7": {"name": "fake-es-0", "cluster_name": "skiff-fake", "cluster_uuid": "Z3ZpbGx3cmFsbXNwaGxxbg",
            "version": {"number": "7.17.24", "build_flavor": "default", "build_type": "docker",
                        "build_hash": "fcf25fff740db6ab3ed5d145c58d70e4c3528ec1",
                        "build_date": "2024-09-05T09:52:21.024524145Z", "build_snapshot": False,
                        "lucene_version": "8.11.3",
                        "minimum_wire_compatibility_version": "6.8.0",
                        "minimum_index_compatibility_version": "6.0.0-beta1"},
            "tagline": "You Know, for Search"},
    "opensearch2": {"name": "fake-os-0", "cluster_name": "skiff-fake",
                    "cluster_uuid": "Z3ZpbGx3cmFsbXNwaGxxbg",
                    "version": {"distribution": "opensearch", "number": "2.17.1",
                                "build_type": "tar",
                                "build_hash": "1893d20797e30110e5877170e44d42275ce5951e",
                                "build_date": "2024-09-26T21:59:52.691008096Z",
                                "build_snapshot": False, "lucene_version": "9.11.1",
                                "minimum_wire_compatibility_version": "7.10.0",
                                "minimum_index_compatibility_version": "7.0.0"},
                    "tagline": "The OpenSearch Project: https://opensearch.org/"},
}
