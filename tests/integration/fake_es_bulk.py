"""The `_bulk` API of fake_es.py: parsing as BulkRequestParser does, then
each item through the checks a real cluster makes, in its order (ingest
pipeline, index name, alias, data stream, security, blocks, _id, parsing,
version conflict). Item bodies come from the replayed files
(fake_es_replay.py); the rules from fake_es_rules.py.
Python 3 standard library only."""

import base64
import json
import os
import time

from fake_es_replay import created_item, dumps, error_body, item_from, text_body
from fake_es_rules import (action_parse_error, document_parse_error, filter_response,
                           id_too_long, index_name_problem, invalid_index_error,
                           is_data_stream, strict_loads, DuplicateKey)

OPS = ("index", "create", "update", "delete")
# The action-line parameters BulkRequestParser knows (8.x); anything else is
# "Action/metadata line [N] contains an unknown parameter [name]".
KNOWN_META = {"_index", "_id", "routing", "pipeline", "require_alias", "require_data_stream",
              "if_seq_no", "if_primary_term", "version", "version_type", "dynamic_templates",
              "list_executed_pipelines", "retry_on_conflict", "_source", "op_type"}


class BulkRequestError(Exception):
    def __init__(self, status, body):
        super().__init__(body)
        self.status, self.body = status, body


def malformed(line_no, action):
    """BulkRequestParser's "Malformed action/metadata line [N], expected X
    but found [TOKEN]" (Jackson token names)."""
    if isinstance(action, dict):
        expected, token = ("FIELD_NAME", "END_OBJECT") if not action else ("END_OBJECT", "FIELD_NAME")
    else:
        expected = "START_OBJECT or END_OBJECT"
        token = {list: "START_ARRAY", str: "VALUE_STRING", bool: "VALUE_BOOLEAN",
                 type(None): "VALUE_NULL"}.get(type(action), "VALUE_NUMBER")
    reason = f"Malformed action/metadata line [{line_no}], expected {expected} but found [{token}]"
    return dumps(error_body("illegal_argument_exception", reason, 400))


def new_id():
    """A 20-character id like Elasticsearch's auto-generated (base64url) ones."""
    return base64.urlsafe_b64encode(os.urandom(15)).decode()


class BulkMixin:
    """Mixed into FakeElasticsearch: `bulk` answers one request."""

    def bulk(self, body, record, index=None, compat=None):
        started = time.monotonic()
        try:
            actions = self.parse_bulk(body, index, compat)
        except BulkRequestError as e:
            return e.status, e.body
        record["ops"] = [a[0] for a in actions]
        if self.indexing_pressure_limit is not None and len(body) > self.indexing_pressure_limit:
            # IndexingPressure.markCoordinatingOperationStarted: a request whose
            # own bytes are over the limit is refused whatever the load is.
            # Fill-ins: coordinating_operation_bytes (this body) and
            # max_coordinating_and_primary_bytes (the limit).
            text = text_body("req_429_indexing_pressure", {
                "coordinating_operation_bytes=54215758": f"coordinating_operation_bytes={len(body)}",
                "max_coordinating_and_primary_bytes=53687091":
                    f"max_coordinating_and_primary_bytes={self.indexing_pressure_limit}"})
            return 429, text
        if self.mode == "opensearch2" and self.privileges != "all":
            # The OpenSearch security plugin authorizes indices:data/write/bulk
            # for the whole request (req_403_opensearch_no_permissions.json).
            return 403, text_body("req_403_opensearch_no_permissions")
        items = []
        with self.lock:
            for op, meta, source_text, line in actions:
                items.append(self.typed(self.bulk_item(op, meta, source_text, line, record["query"]),
                                        compat))
        record["items"] = len(items)
        with self.lock:
            self.item_statuses.update(next(iter(i.values()))["status"] for i in items)
        errors = any(next(iter(i.values()))["status"] >= 300 for i in items)
        took = int((time.monotonic() - started) * 1000)  # fill-in: took
        if self.mode == "es8":
            # BulkResponse.toXContent in 8.x writes errors, then took.
            out = {"errors": errors, "took": took, "items": items}
        else:
            out = {"took": took, "errors": errors, "items": items}
        answer = dumps(filter_response(out, record["query"].get("filter_path")))
        # Whitespace after a JSON text is still JSON (RFC 8259 section 2).
        return 200, answer + " " * (self.answer_padding_per_item * len(items))

    # ---- BulkRequestParser ----

    def parse_bulk(self, body, default_index, compat):
        if not body:
            raise BulkRequestError(400, dumps(error_body("parse_exception",
                                                         "request body is required", 400)))
        if not body.endswith(b"\n"):
            raise BulkRequestError(400, dumps(error_body(
                "illegal_argument_exception",
                "The bulk request must be terminated by a newline [\\n]", 400)))
        lines = body.split(b"\n")[:-1]
        actions, i = [], 0
        while i < len(lines):
            line_no = i + 1
            text = lines[i].decode("utf-8", "replace")
            i += 1
            if not text.strip():
                continue
            try:
                action = strict_loads(text)
            except (DuplicateKey, json.JSONDecodeError) as e:
                raise BulkRequestError(400, action_parse_error(self.mode, text, e)) from None
            if not isinstance(action, dict) or len(action) != 1:
                raise BulkRequestError(400, malformed(line_no, action))
            (op, meta), = action.items()
            if op not in OPS:
                raise BulkRequestError(400, dumps(error_body(
                    "illegal_argument_exception",
                    f"Malformed action/metadata line [{line_no}], expected field [create], "
                    f"[delete], [index] or [update] but found [{op}]", 400)))
            for key in meta:
                if key == "_type" and (self.mode == "es7" or compat == "7"):
                    continue  # 7.x (and 8.x asked for compatible-with=7) take _type
                if key not in KNOWN_META:
                    # BulkRequestParser: unknown parameter; the body is
                    # req_400_type_unknown.json with the line and name filled in.
                    raise BulkRequestError(400, text_body("req_400_type_unknown", {
                        "line [1]": f"line [{line_no}]", "[_type]": f"[{key}]"}))
            source = None
            if op != "delete":
                if i >= len(lines):
                    raise BulkRequestError(400, dumps(error_body(
                        "illegal_argument_exception",
                        "The bulk request must be terminated by a newline [\\n]", 400)))
                source = lines[i].decode("utf-8", "replace")
                i += 1
            meta = dict(meta)
            if "_index" not in meta:
                if default_index is None:
                    raise BulkRequestError(400, dumps(error_body(
                        "action_request_validation_exception",
                        "Validation Failed: 1: index is missing;", 400)))
                meta["_index"] = default_index
            doc_id = meta.get("_id")
            if doc_id is not None:
                meta["_id"] = doc_id = str(doc_id)
                too_long = id_too_long(doc_id)
                if too_long:
                    raise BulkRequestError(400, too_long)
            actions.append((op, meta, source, line_no + 1))
        return actions

    # ---- one item ----

    def bulk_item(self, op, meta, source_text, line, query):
        index, doc_id = meta["_index"], meta.get("_id")
        pipeline = meta.get("pipeline", query.get("pipeline"))
        if pipeline and pipeline != "_none" and pipeline not in self.pipelines:
            # IngestService: yaml_item_400_pipeline_missing.json (bulk/90_pipeline.yml);
            # fill-ins: index, _id, pipeline name.
            return item_from("yaml_item_400_pipeline_missing", op, index, doc_id,
                             {"[mypipeline]": f"[{pipeline}]"})
        problem = index_name_problem(self.mode, index)
        if problem:
            return self.item_error(op, index, doc_id, 400, invalid_index_error(index, problem))
        require_alias = meta.get("require_alias", query.get("require_alias") in ("", "true"))
        if require_alias is True or require_alias == "true":
            # No alias exists in the fake: yaml_item_404_require_alias.json
            # (bulk/10_basic.yml); fill-ins: index everywhere it is named.
            return item_from("yaml_item_404_require_alias", op, index, doc_id,
                             {"new_index_not_created": index})
        stream = is_data_stream(self.mode, index)
        if stream and op != "create":
            # validateWriteIndex: ds_item_400_index_op.json; fill-ins: op, index, _id.
            return item_from("ds_item_400_index_op", op, index, doc_id)
        write_index = self.backing_index(index) if stream else index
        if self.privileges == "create_doc" and op in ("index", "update", "delete") and (
                doc_id is not None or op != "index"):
            # create_doc grants create and auto-id index only
            # (CreateDocsIndexPrivilegeTests): item_403_security_create_doc.json,
            # fill-in: the index named in _index and in the reason.
            return item_from("item_403_security_create_doc", op, index, doc_id,
                             {"[skiff-2026.12.04]": f"[{index}]"})
        if index in self.write_blocked or write_index in self.write_blocked:
            # Index block FORBIDDEN/8: item_403_write_block.json; fill-in: index.
            return item_from("item_403_write_block", op, index, doc_id,
                             {"[myindex6]": f"[{index}]"})
        if self.flood_stage:
            # INDEX_READ_ONLY_ALLOW_DELETE_BLOCK, 429 since #50166:
            # item_429_flood_stage.json; fill-in: index.
            return item_from("item_429_flood_stage", op, index, doc_id, {"[xxx]": f"[{index}]"})
        if doc_id == "":
            # yaml_item_400_empty_id.json (bulk/10_basic.yml 'Empty _id').
            return item_from("yaml_item_400_empty_id", op, index, doc_id)
        if doc_id is not None and doc_id in self.item_429_once:
            self.item_429_once.discard(doc_id)
            # item_429_es_rejected.json (captured 8.15); fill-ins: index, _id.
            return item_from("item_429_es_rejected", op, write_index, doc_id)
        if doc_id is not None and doc_id in self.item_503_once:
            self.item_503_once.discard(doc_id)
            # item_503_unavailable_shards.json; fill-ins: index, _id.
            return item_from("item_503_unavailable_shards", op, write_index, doc_id,
                             {"[products]": f"[{write_index}]"})
        key_index = index  # documents are kept under the data stream name
        if op == "delete":
            return self.delete_item(key_index, write_index, doc_id)
        try:
            source = strict_loads(source_text)
        except (DuplicateKey, json.JSONDecodeError) as e:
            return self.item_error(op, write_index, doc_id, 400,
                                   document_parse_error(self.mode, source_text, e))
        if not isinstance(source, dict):
            return self.item_error(op, write_index, doc_id, 400, document_parse_error(
                self.mode, source_text, json.JSONDecodeError("Expecting an object", source_text, 0)))
        if op == "update":
            return self.update_item(key_index, write_index, doc_id, source)
        if doc_id is None:
            doc_id = new_id()
        if stream and "@timestamp" not in source:
            return self.timestamp_missing(op, write_index, doc_id, source_text)
        if self.reject_field and self.reject_field in source:
            return self.mapping_error(op, write_index, doc_id, source_text, self.reject_field)
        key = (key_index, doc_id)
        if op == "create" and key in self.docs:
            return self.conflict(op, write_index, doc_id)
        return self.store(op, key, write_index, source, pipeline)

    # ---- item results ----

    def item_error(self, op, index, doc_id, status, error):
        out = {"_index": index}
        if doc_id is not None:
            out["_id"] = doc_id
        out["status"] = status
        out["error"] = error
        return self.typed({op: out})

    def typed(self, item, compat=None):
        """7.x answers _type: _doc in every item, after _index; so does 8.x
        asked for compatible-with=7 (RestApiVersion.V_7 in DocWriteResponse)."""
        if self.mode != "es7" and not (self.mode == "es8" and compat == "7"):
            return item
        (op, fields), = item.items()
        out = {"_index": fields["_index"], "_type": "_doc"}
        out.update((k, v) for k, v in fields.items() if k != "_index")
        return {op: out}

    def backing_index(self, stream):
        """.ds-<data stream>-<yyyy.mm.dd>-000001, dated when the stream was
        first written (DataStream.getDefaultBackingIndexName since 7.11;
        ds_item_created.json shows one)."""
        if stream not in self.data_streams:
            day = time.strftime("%Y.%m.%d", time.gmtime())
            self.data_streams[stream] = f".ds-{stream}-{day}-000001"
        return self.data_streams[stream]

    def index_uuid(self, index):
        if index not in self.index_uuids:
            self.index_uuids[index] = base64.urlsafe_b64encode(os.urandom(16)).decode()[:22]
        return self.index_uuids[index]

    def timestamp_missing(self, op, write_index, doc_id, source_text):
        """ds_item_timestamp_missing.json (8.x capture): fill-ins: _index
        (the backing index), _id, the [line:column] (end of the document).
        7.x says mapper_parsing_exception "failed to parse" with the same
        cause (DataStreamTimestampFieldMapper)."""
        if self.mode == "es8":
            item = item_from("ds_item_timestamp_missing", op, write_index, doc_id)
            error = item[op]["error"]
            error["reason"] = error["reason"].replace("[1:1223]", f"[1:{len(source_text)}]")
            return item
        return self.item_error(op, write_index, doc_id, 400, {
            "type": "mapper_parsing_exception", "reason": "failed to parse",
            "caused_by": {"type": "illegal_argument_exception",
                          "reason": "data stream timestamp field [@timestamp] is missing"}})

    def mapping_error(self, op, write_index, doc_id, source_text, field):
        """A value the mapping (long) cannot take. 8.x:
        es815_item_document_parsing_exception.json (captured 8.15) with
        fill-ins: column, field, _id, value; 7.x and OpenSearch name it
        mapper_parsing_exception (ES < 8.8) with the same reason text."""
        value = json.loads(source_text)[field]
        shown = value if isinstance(value, str) else json.dumps(value)
        # Column: where the value starts (1-based), as in the capture.
        at = source_text.find(json.dumps(field)) + len(json.dumps(field))
        at = source_text.index(":", at) + 1
        while source_text[at] in " \t":
            at += 1
        col = at + 1
        reason = (f"[1:{col}] failed to parse field [{field}] of type [long] in document with "
                  f"id '{doc_id}'. Preview of field's value: '{shown}'")
        item = item_from("es815_item_document_parsing_exception", op, write_index, doc_id)
        error = item[op]["error"]
        error["reason"] = reason
        error["caused_by"]["reason"] = f'For input string: "{shown}"'
        if self.mode != "es8":
            error["type"] = "mapper_parsing_exception"
            error["reason"] = reason.split("] ", 1)[1]
        return self.typed(item)

    def conflict(self, op, write_index, doc_id):
        """es815_item_create_409.json (captured 8.15); fill-ins: _index,
        _id, the current version, index_uuid, index."""
        key_version = self.versions[(self.key_of(write_index), doc_id)]
        item = item_from("es815_item_create_409", op, write_index, doc_id)
        error = item[op]["error"]
        error["reason"] = (f"[{doc_id}]: version conflict, document already exists "
                           f"(current version [{key_version}])")
        error["index_uuid"] = self.index_uuid(write_index)
        error["index"] = write_index
        return self.typed(item)

    def key_of(self, write_index):
        for stream, backing in self.data_streams.items():
            if backing == write_index:
                return stream
        return write_index

    def store(self, op, key, write_index, source, pipeline):
        if pipeline and pipeline != "_none":
            run = self.pipelines.get(pipeline) if isinstance(self.pipelines, dict) else None
            if run:
                source = run(source)
            self.pipelined[key] = pipeline
        created = key not in self.docs
        self.docs[key] = source
        self.writes[key] += 1
        self.versions[key] += 1
        seq_no = self.seq_nos[write_index]
        self.seq_nos[write_index] += 1
        return created_item(op, write_index, key[1], self.versions[key], seq_no, created,
                            es7=self.mode == "es7")

    def delete_item(self, key_index, write_index, doc_id):
        key = (key_index, doc_id)
        found = key in self.docs
        if found:
            del self.docs[key]
        self.versions[key] += 1
        seq_no = self.seq_nos[write_index]
        self.seq_nos[write_index] += 1
        item = created_item("delete", write_index, doc_id, self.versions[key], seq_no, False,
                            es7=self.mode == "es7")
        item["delete"]["result"] = "deleted" if found else "not_found"
        item["delete"]["status"] = 200 if found else 404
        return item

    def update_item(self, key_index, write_index, doc_id, source):
        key = (key_index, doc_id)
        if key not in self.docs:
            # spec_bulk_failed_actions.json: document_missing_exception;
            # fill-ins: index, _id, index_uuid.
            item = item_from("spec_bulk_failed_actions", "update", write_index, doc_id,
                             {"[5]": f"[{doc_id}]"})
            item["update"]["error"]["index_uuid"] = self.index_uuid(write_index)
            return self.typed(item)
        merged = dict(self.docs[key])
        merged.update(source.get("doc", {}))
        return self.store("update", key, write_index, merged, None)
