"""The rules fake_es.py applies as real Elasticsearch 8/7 and OpenSearch 2 do:
index names and _id, media types and compatible-with, strict JSON, data
streams, filter_path. Each rule cites where the real server has it.
Python 3 standard library only."""

import json
import re

from fake_es_replay import dumps, error_body

# ---- glob as Elasticsearch's Regex.simpleMatch: only '*', any characters ----

def simple_match(pattern, text):
    regex = "".join(".*" if c == "*" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.S) is not None


def is_data_stream(mode, index):
    """Whether writing to `index` writes to a data stream of a built-in
    template. Elasticsearch has built-in composable templates with
    data_stream: {} for logs-*-* (priority 100) since 7.9 ("Elasticsearch
    has built-in index templates, each with a priority of 100, for ...
    logs-*-*": Elasticsearch reference 7.9-7.11 set-up-a-data-stream.html /
    index-templates.html; 8.x docs "Default logs index template"). OpenSearch
    2 ships no such template: "A data stream can only be created from an
    index template that contains a data_stream object" (docs.opensearch.org
    im-plugin/data-streams), so logs-*-* is an ordinary index there."""
    return mode in ("es8", "es7") and simple_match("logs-*-*", index)


# ---- index names: MetadataCreateIndexService.validateIndexOrAliasName ----

# Strings.INVALID_FILENAME_CHARS is a java.util.HashSet of these characters;
# its toString() order is the hash-bucket order of a 16-slot table (the chars'
# own codes mod 16, insertion order within a bucket), which gives this text.
INVALID_FILENAME_CHARS = '\\/*?"<>| ,'
INVALID_FILENAME_TEXT = '[ , ", *, \\, <, |, ,, >, /, ?]'
MAX_INDEX_NAME_BYTES = 255


def index_name_problem(mode, index):
    """None, or the description InvalidIndexNameException gets. Checks, in
    the order of elastic/elasticsearch server/.../MetadataCreateIndexService
    .validateIndexOrAliasName then validateIndexName (lower case last).
    ':' is refused from 8.0 and by OpenSearch 2 (its fork of the same method
    says "must not contain ':'"); 7.x only logged a deprecation for it."""
    if not index:
        return "must not be empty"
    if any(c in INVALID_FILENAME_CHARS for c in index):
        return "must not contain the following characters " + INVALID_FILENAME_TEXT
    if "#" in index:
        return "must not contain '#'"
    if ":" in index and mode != "es7":
        return "must not contain ':'"
    if index[0] in "_-+":
        return "must not start with '_', '-', or '+'"
    size = len(index.encode("utf-8"))
    if size > MAX_INDEX_NAME_BYTES:
        return f"index name is too long, ({size} > {MAX_INDEX_NAME_BYTES})"
    if index in (".", ".."):
        return "must not be '.' or '..'"
    if index.lower() != index:
        return "must be lowercase"
    return None


def invalid_index_error(index, problem):
    """InvalidIndexNameException as a bulk item error: its message is
    "Invalid index name [<name>], <description>" and it carries the index
    (index_uuid _na_ because the index does not exist); status 400."""
    return {"type": "invalid_index_name_exception",
            "reason": f"Invalid index name [{index}], {problem}",
            "index_uuid": "_na_", "index": index}


def id_too_long(doc_id):
    """IndexRequest.validate: an _id over 512 bytes. BulkRequest.validate
    collects the items' validation errors, so the whole request fails with
    400 action_request_validation_exception (elastic/elasticsearch
    IndexRequest.java, IndexRequestTests: "id [...] is too long, must be no
    longer than 512 bytes but was: 513"). An empty _id instead fails its
    item only (yaml_item_400_empty_id.json, bulk/10_basic.yml 'Empty _id')."""
    size = len(doc_id.encode("utf-8"))
    if size <= 512:
        return None
    reason = f"Validation Failed: 1: id [{doc_id}] is too long, must be no longer than 512 bytes but was: {size};"
    return dumps(error_body("action_request_validation_exception", reason, 400))


# ---- media types: RestRequest, RestCompatibleVersionHelper, RestController ----

class MediaTypeError(Exception):
    def __init__(self, status, body):
        super().__init__(body)
        self.status, self.body = status, body


def parse_media_type(value):
    """(type/subtype lower-cased, params) like ParsedMediaType.parseMediaType,
    or None when it is not of the form type/subtype."""
    parts = [p.strip() for p in value.split(";")]
    main = parts[0].lower()
    if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9a-z-]+/[!#$%&'*+.^_`|~0-9a-z-]+", main):
        return None
    params = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            params[k.strip().lower()] = v.strip().strip('"')
    return main, params


BULK_TYPES = ("application/json", "application/x-ndjson")
VENDOR_TYPES = ("application/vnd.elasticsearch+json", "application/vnd.elasticsearch+x-ndjson")


def _not_supported(value):
    # RestController.sendContentTypeErrorMessage: 406, a bare error string.
    if value is None:
        return MediaTypeError(406, dumps({"error": "Content-Type header is missing",
                                          "status": 406}))
    return MediaTypeError(406, dumps({"error": f"Content-Type header [{value}] is not supported",
                                      "status": 406}))


def _media_header_error(names, cause_type, cause_reason):
    # RestRequest.MediaTypeHeaderException("Invalid media-type value on headers
    # [...]") around the cause; rendered by RestController as a 400. The two
    # names come from Set.of(...), whose order is not fixed by Java: this one
    # is one of the two a real server prints.
    reason = f"Invalid media-type value on headers [{', '.join(names)}]"
    return MediaTypeError(400, dumps(error_body(
        "media_type_header_exception", reason, 400,
        caused_by={"type": cause_type, "reason": cause_reason})))


def check_media_types(mode, content_types, accepts, has_body):
    """Checks Content-Type and Accept as the mode's server does. Returns the
    compatible-with version asked for (None if none); raises MediaTypeError.

    es8: RestRequest(...) parses each header with parseHeaderWithMediaType
    ("Incorrect header [Content-Type]. Only one value should be provided")
    and RestCompatibleVersionHelper.getCompatibleVersion checks versions
    (current 8, minimum 7) and that Accept and Content-Type agree; errors are
    400 media_type_header_exception. es7 and OpenSearch 2 answer a second
    Content-Type with content_type_header_exception
    ("java.lang.IllegalArgumentException: only one Content-Type header should
    be provided", RestRequest.ContentTypeHeaderException, RestRequestTests
    testMultipleContentTypeHeaders). A media type the server does not know is
    a 406 (RestController); 7.x and OpenSearch answer compatible-with=8 so
    ("Content-Type header [application/vnd.elasticsearch+json;
    compatible-with=8] is not supported", elastic/elasticsearch-php#1262,
    elasticsearch-py#1933)."""
    if len(content_types) > 1:
        if mode == "es8":
            raise _media_header_error(["Content-Type"], "illegal_argument_exception",
                                      "Incorrect header [Content-Type]. Only one value should be provided")
        reason = "java.lang.IllegalArgumentException: only one Content-Type header should be provided"
        raise MediaTypeError(400, dumps(error_body(
            "content_type_header_exception", reason, 400,
            caused_by={"type": "illegal_argument_exception",
                       "reason": "only one Content-Type header should be provided"})))
    ct_raw = content_types[0] if content_types else None
    ct = parse_media_type(ct_raw) if ct_raw is not None else None
    if ct_raw is not None and ct is None:
        if mode == "es8":
            raise _media_header_error(["Content-Type"], "illegal_argument_exception",
                                      f"invalid media-type [{ct_raw}]")
        raise _not_supported(ct_raw)
    accept_raw = accepts[0] if accepts else None
    accept = parse_media_type(accept_raw) if accept_raw else None
    c_version = _version(ct)
    a_version = _version(accept)
    if mode != "es8":
        if ct and ct[0] in VENDOR_TYPES and (mode == "opensearch2" or c_version not in (None, "7")):
            raise _not_supported(ct_raw)
        if has_body and (ct is None or ct[0] not in BULK_TYPES + VENDOR_TYPES):
            raise _not_supported(ct_raw)
        return c_version
    current, minimum = 8, 7
    try:
        av = int(a_version) if a_version is not None else current
        cv = int(c_version) if c_version is not None else current
    except ValueError:
        raise _media_header_error(["Accept", "Content-Type"], "status_exception",
                                  "invalid compatible-with version") from None
    if av > current or av < minimum:
        raise _media_header_error(["Accept", "Content-Type"], "status_exception",
                                  f"Accept version must be either version {current} or {minimum}, "
                                  f"but found {av}. Accept={accept_raw}")
    if has_body:
        if cv > current or cv < minimum:
            raise _media_header_error(["Accept", "Content-Type"], "status_exception",
                                      f"Content-Type version must be either version {current} or "
                                      f"{minimum}, but found {cv}. Content-Type={ct_raw}")
        if cv != av:
            raise _media_header_error(
                ["Accept", "Content-Type"], "status_exception",
                "A compatible version is required on both Content-Type and Accept headers if either "
                "one has requested a compatible version and the compatible versions must match. "
                f"Accept={accept_raw}, Content-Type={ct_raw}")
        if (c_version is None) != (a_version is None):
            raise _media_header_error(
                ["Accept", "Content-Type"], "status_exception",
                "A compatible version is required on both Content-Type and Accept headers if either "
                f"one has requested a compatible version. Accept={accept_raw}, Content-Type={ct_raw}")
        if ct is None:
            raise _not_supported(None)
        if ct[0] not in BULK_TYPES + VENDOR_TYPES:
            raise _not_supported(ct_raw)
        return c_version
    return a_version


def _version(parsed):
    if parsed is None or parsed[0] not in VENDOR_TYPES + ("application/vnd.elasticsearch+yaml",):
        return None
    return parsed[1].get("compatible-with")


# ---- strict JSON: duplicate keys refused (Jackson STRICT_DUPLICATE_DETECTION,
# always on since Elasticsearch 6 / es.xcontent.strict_duplicate_detection) ----

class DuplicateKey(ValueError):
    def __init__(self, key):
        super().__init__(f"Duplicate field '{key}'")
        self.key = key


def _pairs(pairs):
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise DuplicateKey(key)
        seen.add(key)
    return dict(pairs)


def strict_loads(text):
    """json.loads that refuses duplicate keys. Raises DuplicateKey or
    json.JSONDecodeError."""
    return json.loads(text, object_pairs_hook=_pairs)


def error_column(text, err):
    """1-based column Jackson would name: after a duplicate key's name, or
    where the decoder stopped."""
    if isinstance(err, DuplicateKey):
        needle = json.dumps(err.key)
        first = text.find(needle)
        second = text.find(needle, first + 1) if first >= 0 else -1
        return (second if second >= 0 else max(first, 0)) + len(needle) + 1
    return getattr(err, "colno", 1)


JACKSON_SOURCE_8 = "REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled)"
JACKSON_SOURCE_7 = "(org.elasticsearch.common.bytes.AbstractBytesReference$MarkSupportingStreamInputWrapper)"


def jackson_message(err):
    if isinstance(err, DuplicateKey):
        return str(err)
    return f"Unexpected character: {err.msg}"


def document_parse_error(mode, text, err):
    """The item error for a document line that is not strict JSON. 8.x names
    mapping/parse failures document_parsing_exception with "[line:col] failed
    to parse: ..." (es815_item_document_parsing_exception.json,
    ds_item_timestamp_missing.json); 7.x and OpenSearch say
    mapper_parsing_exception "failed to parse" caused by json_parse_exception
    "Duplicate field 'time'" (captured in fluent/fluent-bit#2381 from
    DocumentParser.wrapInMapperParsingException). Constructed: the Jackson
    source description and the column."""
    col = error_column(text, err)
    msg = jackson_message(err)
    if mode == "es8":
        return {"type": "document_parsing_exception", "reason": f"[1:{col}] failed to parse: {msg}",
                "caused_by": {"type": "json_parse_exception",
                              "reason": f"{msg}\n at [Source: {JACKSON_SOURCE_8}; line: 1, column: {col}]"}}
    return {"type": "mapper_parsing_exception", "reason": "failed to parse",
            "caused_by": {"type": "json_parse_exception",
                          "reason": f"{msg}\n at [Source: {JACKSON_SOURCE_7}; line: 1, column: {col}]"}}


def action_parse_error(mode, text, err):
    """Request-level 400 for an action line that is not strict JSON: the
    bulk parser (BulkRequestParser) fails the whole request. 8.x wraps
    Jackson's error in XContentParseException ("[line:col] message"); 7.x and
    OpenSearch pass json_parse_exception through. Constructed."""
    col = error_column(text, err)
    msg = jackson_message(err)
    if mode == "es8":
        return dumps(error_body("x_content_parse_exception", f"[1:{col}] {msg}", 400))
    return dumps(error_body("json_parse_exception",
                            f"{msg}\n at [Source: {JACKSON_SOURCE_7}; line: 1, column: {col}]", 400))


# ---- filter_path: FilterPath + Jackson's FilteringGeneratorDelegate ----

def filter_response(response, filter_path):
    """Elasticsearch's filter_path: a comma list of dotted paths, '*' inside
    a name, '**' for any depth. Arrays do not use up a path segment; an array
    element that keeps nothing is dropped, and a property whose value keeps
    nothing is left out ("POST /_bulk?filter_path=items.*.error" keeps only
    failed items: spec_bulk_filter_path_items_error.json, from the bulk API
    examples of elastic/elasticsearch-specification)."""
    if not filter_path:
        return response
    patterns = [p.strip().split(".") for p in filter_path.split(",") if p.strip()]
    matched, value = _filter(response, patterns)
    return value if matched else {}


def _segment_match(segment, name):
    return segment == "*" or simple_match(segment, name)


def _advance(patterns, name):
    """The patterns left after `name` is consumed; True if one ended."""
    out, done = [], False
    for p in patterns:
        if p[0] == "**":
            if len(p) == 1:
                done = True
                continue
            out.append(p)  # '**' consumes name and stays
            rest = p[1:]   # or '**' matches nothing
            if _segment_match(rest[0], name):
                if len(rest) == 1:
                    done = True
                else:
                    out.append(rest[1:])
        elif _segment_match(p[0], name):
            if len(p) == 1:
                done = True
            else:
                out.append(p[1:])
    return done, out


def _filter(value, patterns):
    if isinstance(value, dict):
        out, any_match = {}, False
        for key, child in value.items():
            done, rest = _advance(patterns, key)
            if done:
                out[key] = child
                any_match = True
            elif rest:
                matched, kept = _filter(child, rest)
                if matched:
                    out[key] = kept
                    any_match = True
        return any_match, out
    if isinstance(value, list):
        kept = []
        for element in value:
            matched, v = _filter(element, patterns)
            if matched:
                kept.append(v)
        return bool(kept), kept
    return False, None
