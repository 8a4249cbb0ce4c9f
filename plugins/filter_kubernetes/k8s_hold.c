/* The `kubernetes` filter's work on records: each record's log file names its
 * pod (k8s_path); a known pod's shared attachment is added, its annotations
 * applied (exclude, parser) and merge_log done. A record of a pod not known
 * yet is held, in its source's order, until the metadata arrives or
 * metadata_wait runs out; then it goes on with what the file name gives. */
#include "k8s_filter.h"

#include "k8s_logging.h"
#include "k8s_merge.h"
#include "k8s_path.h"
#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

enum {
    MAX_HELD_RECORDS = 100000,
    SOURCE_IDLE_MS = 60000,
};

struct k8s_held {
    struct k8s_held *next;
    struct instance *input;
    char *tag;
    struct record rec;
    size_t bytes;
    int64_t arrived_ms;
};

/* One file (an input's source) and what its name says. */
struct k8s_source {
    struct hmap_node node;
    struct instance *input;
    uint64_t id;
    char *path;
    size_t path_len;
    /* The attachment the path came in (a reference: while it is held, the
     * same pointer is the same path), or NULL. */
    struct attachment *path_from;
    bool is_pod;
    struct k8s_path parsed;
    struct attachment *path_meta; /* from the name alone, built on first use */
    /* What the cache said, while its version is `cache_version`. */
    bool looked_up;
    uint64_t cache_version;
    struct k8s_pod *pod;
    /* The namespace's attachment, while the cache's namespaces version is
     * `namespaces_version` (k8s_cache_namespaces_version). */
    bool namespace_looked_up;
    uint64_t namespaces_version;
    struct attachment *namespace_meta;
    struct k8s_logging logging;                 /* the pod's annotations for it */
    struct instance *parsers[K8S_STREAM_COUNT]; /* the parsers they name */
    /* Records held while the pod is not known. */
    struct k8s_held *head, *tail;
    size_t count, bytes;
    struct k8s_source *next_waiting, *prev_waiting;
    bool fetch_asked;
    int64_t last_seen_ms;
};

/* ---- sources ---- */

static uint64_t source_hash(const struct instance *input, uint64_t id)
{
    return hash_u64(id ^ ((uint64_t)(uintptr_t)input * 0x9e3779b97f4a7c15ull));
}

static struct k8s_source *source_get(struct k8s_filter_state *state, struct instance *input,
                                     uint64_t id)
{
    uint64_t hash = source_hash(input, id);
    for (struct hmap_node *n = hmap_find(&state->sources, hash); n; n = hmap_find_next(n)) {
        struct k8s_source *s = hmap_entry(n, struct k8s_source, node);
        if (s->id == id && s->input == input)
            return s;
    }
    struct k8s_source *s = xcalloc(1, sizeof *s);
    s->input = input;
    s->id = id;
    hmap_insert(&state->sources, &s->node, hash);
    k8s_expire_arm(state->f, SOURCE_IDLE_MS); /* it is forgotten once idle */
    return s;
}

static void source_forget_path(struct k8s_source *s)
{
    free(s->path);
    s->path = NULL;
    attachment_unref(s->path_from);
    s->path_from = NULL;
    k8s_path_free(&s->parsed);
    s->is_pod = false;
    if (s->path_meta)
        attachment_unref(s->path_meta);
    s->path_meta = NULL;
    s->looked_up = false;
    s->namespace_looked_up = false;
}

/* `from`: the attachment `path` is in, or NULL. An input such as tail gives
 * all the records of a file one attachment with the path: a record that
 * comes with the one held is known to have the same path without comparing
 * it (a rename gives a new one). */
static void source_set_path(struct k8s_source *s, const struct value_string *path,
                            struct attachment *from)
{
    if (from && from == s->path_from)
        return;
    if (s->path && s->path_len == path->len && memcmp(s->path, path->ptr, path->len) == 0) {
        attachment_unref(s->path_from);
        s->path_from = from ? attachment_ref(from) : NULL;
        return;
    }
    source_forget_path(s);
    s->path_from = from ? attachment_ref(from) : NULL;
    s->path = xstrndup(path->ptr, path->len);
    s->path_len = path->len;
    s->is_pod = k8s_path_parse(s->path, &s->parsed);
}

static void held_free(struct k8s_held *h)
{
    record_free(&h->rec);
    free(h->tag);
    free(h);
}

static void source_free(struct k8s_source *s)
{
    for (struct k8s_held *h = s->head, *next; h; h = next) {
        next = h->next;
        held_free(h);
    }
    source_forget_path(s);
    free(s);
}

/* ---- what the cache says ---- */

/* The parser an annotation names, or NULL; warns once per pod version about
 * a name that is no parser. */
static struct instance *named_parser(struct k8s_filter_state *state, struct k8s_source *s,
                                     const char *name)
{
    if (!name)
        return NULL;
    struct instance *parser = pipeline_parser(state->f->pipeline, name);
    bool *warned = k8s_pod_warned(s->pod);
    if (!parser && !*warned) {
        log_warn(state->f->alias,
                 "pod %s/%s: an annotation names the parser '%s', which does not exist (built "
                 "in: cri, docker, json, logfmt; or one from `parsers:`); its records go on "
                 "unparsed",
                 s->parsed.namespace_name, s->parsed.pod_name, name);
        *warned = true;
    }
    return parser;
}

/* Reads the pod's logging annotations for this file's container. */
static void source_read_annotations(struct k8s_filter_state *state, struct k8s_source *s)
{
    k8s_logging_read(k8s_pod_object(s->pod), s->parsed.container_name, &s->logging);
    bool *warned = k8s_pod_warned(s->pod);
    if (s->logging.malformed && !*warned) {
        log_warn(state->f->alias,
                 "pod %s/%s: annotation '%s' is not one of exclude[_stdout|_stderr][-<container>] "
                 "or parser[_stdout|_stderr][-<container>]; it is ignored",
                 s->parsed.namespace_name, s->parsed.pod_name, s->logging.malformed);
        *warned = true;
    }
    for (int stream = 0; stream < K8S_STREAM_COUNT; stream++)
        s->parsers[stream] = named_parser(state, s, s->logging.parser[stream]);
}

static struct k8s_pod *source_lookup(struct k8s_filter_state *state, struct k8s_source *s)
{
    uint64_t version = k8s_cache_version(state->cache);
    if (s->looked_up && s->cache_version == version)
        return s->pod;
    const struct k8s_filter_options *opts = state->f->options;
    s->pod = k8s_cache_find(state->cache, s->parsed.namespace_name, s->parsed.pod_name,
                            s->parsed.pod_uid);
    s->looked_up = true;
    s->cache_version = version;
    memset(&s->logging, 0, sizeof s->logging);
    memset(s->parsers, 0, sizeof s->parsers);
    if (s->pod && opts->use_pod_annotations)
        source_read_annotations(state, s);
    return s->pod;
}

/* The namespace's attachment (borrowed), found in the cache once per change
 * of its namespaces rather than once per record. */
static struct attachment *source_namespace(struct k8s_filter_state *state, struct k8s_source *s)
{
    uint64_t version = k8s_cache_namespaces_version(state->cache);
    if (!s->namespace_looked_up || s->namespaces_version != version) {
        s->namespace_meta = k8s_namespace_attachment(state->cache, s->parsed.namespace_name);
        s->namespaces_version = version;
        s->namespace_looked_up = true;
    }
    return s->namespace_meta;
}

/* The pod is known, and so is its namespace when namespace labels or
 * annotations are wanted: the namespaces' first LIST may answer after the
 * pods'. A failing namespaces watch does not hold records. */
static bool metadata_complete(struct k8s_filter_state *state, struct k8s_source *s)
{
    return source_lookup(state, s) && !k8s_api_namespaces_pending(state->api);
}

/* ---- records ---- */

static void attach(struct k8s_filter_state *state, struct record *rec, struct attachment *a)
{
    if (!a || record_attach(rec, a) == 0 || state->warned_attach)
        return;
    log_warn(state->f->alias,
             "a record already has %d shared values; its kubernetes metadata "
             "is left out (logged once)",
             RECORD_MAX_ATTACHMENTS);
    state->warned_attach = true;
}

static struct k8s_merge_options merge_options(const struct k8s_filter_options *opts)
{
    return (struct k8s_merge_options){
        .log_key = opts->log_key,
        .merge_key = opts->merge_log_key,
        .keep_log = opts->keep_log,
        .trim = opts->merge_log_trim,
    };
}

/* The fields of the parser an annotation names go where merge_log's go. */
static void apply_parser(struct k8s_filter_state *state, struct instance *parser,
                         struct record *rec, struct k8s_merge_collisions *collisions)
{
    const struct k8s_filter_options *opts = state->f->options;
    size_t key_len = strlen(opts->log_key);
    const struct value *text = value_map_get(&rec->fields, opts->log_key, key_len);
    if (!text || text->type != VALUE_STRING)
        return;
    struct record parsed;
    record_init(&parsed);
    parsed.time = rec->time;
    if (parser_parse(parser, NULL, text->as.string.ptr, text->as.string.len, &parsed) == PARSE_OK) {
        rec->time = parsed.time;
        if (!opts->keep_log)
            value_map_remove(&rec->fields, opts->log_key, key_len);
        struct k8s_merge_options merge = merge_options(opts);
        k8s_merge_place(rec, &parsed.fields, &merge, collisions);
    }
    record_free(&parsed);
}

/* Members of a merged line that the record already had are counted, and
 * named in the log once per filter. */
static void count_collisions(struct k8s_filter_state *state,
                             const struct k8s_merge_collisions *collisions)
{
    if (collisions->count == 0)
        return;
    metric_add(state->metrics.merge_collisions, collisions->count);
    if (state->warned_collision)
        return;
    state->warned_collision = true;
    log_warn(state->f->alias,
             "a merged log line has a member '%s' that the record already has (its metadata or "
             "a field the input set): the record's value is kept and the member left out; with "
             "keep_log the line's text still holds it. Set merge_log_key to keep every member "
             "(skiff_k8s_merge_key_collisions_total; logged once)",
             collisions->first_key);
}

static enum k8s_merge_result merge_log(const struct k8s_filter_options *opts, struct record *rec,
                                       struct k8s_merge_collisions *collisions)
{
    struct k8s_merge_options merge = merge_options(opts);
    return k8s_merge_log(rec, &merge, collisions);
}

/* The parser for a record of `stream`: one of no known stream is parsed only
 * when both streams name the same parser. */
static struct instance *stream_parser(const struct k8s_source *s, enum k8s_log_stream stream)
{
    if (stream < K8S_STREAM_COUNT)
        return s->parsers[stream];
    return k8s_logging_parser(&s->logging, stream) ? s->parsers[K8S_STREAM_STDOUT] : NULL;
}

/* Adds what the pod's metadata gives. Returns FILTER_DROP for a record its
 * pod's annotations exclude (the caller counts it). */
static enum filter_result enrich(struct k8s_filter_state *state, struct k8s_source *s,
                                 struct record *rec)
{
    const struct k8s_filter_options *opts = state->f->options;
    enum k8s_log_stream stream = k8s_logging_stream(record_get_key(rec, "stream"));
    if (k8s_logging_excluded(&s->logging, stream))
        return FILTER_DROP;
    attach(
        state, rec,
        k8s_pod_attachment(state->cache, s->pod, s->parsed.container_name, s->parsed.container_id));
    attach(state, rec, source_namespace(state, s));
    struct k8s_merge_collisions collisions = {0};
    struct instance *parser = stream_parser(s, stream);
    if (parser)
        apply_parser(state, parser, rec, &collisions);
    else if (opts->merge_log && merge_log(opts, rec, &collisions) == K8S_MERGE_FAILED)
        metric_add(state->metrics.merge_failed, 1);
    count_collisions(state, &collisions);
    return FILTER_KEEP;
}

/* Adds what the file name gives, and counts why there is no more. */
static void enrich_from_path(struct k8s_filter_state *state, struct k8s_source *s,
                             struct record *rec, enum k8s_no_meta why)
{
    metric_add(state->metrics.no_meta[why], 1);
    if (!s->is_pod)
        return;
    if (!s->path_meta) {
        struct value meta;
        k8s_meta_from_path(&s->parsed, &meta);
        s->path_meta = attachment_new(K8S_ATTACHMENT_KEY, &meta);
    }
    attach(state, rec, s->path_meta);
    /* The namespace may be known when its pod is not, as in Fluent Bit. */
    attach(state, rec, source_namespace(state, s));
}

/* ---- holding ---- */

static void gauges_update(struct k8s_filter_state *state)
{
    metric_set(state->metrics.held_now, (int64_t)state->held_records);
    metric_set(state->metrics.held_bytes, (int64_t)state->held_bytes);
}

static void waiting_unlink(struct k8s_filter_state *state, struct k8s_source *s)
{
    if (s->prev_waiting)
        s->prev_waiting->next_waiting = s->next_waiting;
    else
        state->waiting = s->next_waiting;
    if (s->next_waiting)
        s->next_waiting->prev_waiting = s->prev_waiting;
    else
        state->waiting_tail = s->prev_waiting;
    s->next_waiting = s->prev_waiting = NULL;
}

static void hold(struct k8s_filter_state *state, struct k8s_source *s, struct instance *input,
                 const char *tag, struct record *rec)
{
    struct k8s_held *h = xcalloc(1, sizeof *h);
    h->input = input;
    h->tag = xstrdup(tag);
    record_move(&h->rec, rec);
    /* What the held record takes, counted against hold_buffer_size and its
     * input's buffer_limit: a constant per record plus the text undercounted
     * it by half, so the hold at start-up reached twice buffer_limit
     * (tests/bench/README.md, session 6). */
    h->bytes = sizeof *h + strlen(tag) + 1 + value_map_heap_bytes(&h->rec.fields);
    h->arrived_ms = loop_now_ms(state->f->loop);
    if (!s->head) {
        s->prev_waiting = state->waiting_tail;
        if (state->waiting_tail)
            state->waiting_tail->next_waiting = s;
        else
            state->waiting = s;
        state->waiting_tail = s;
        s->fetch_asked = false;
        s->head = h;
        k8s_tick_arm(state->f);
    } else {
        s->tail->next = h;
    }
    s->tail = h;
    s->count++;
    s->bytes += h->bytes;
    state->held_records++;
    state->held_bytes += h->bytes;
    metric_add(state->metrics.held, 1);
    filter_hold(state->f, input, (int64_t)h->bytes);
}

/* skiff_records_dropped_total{reason="k8s_exclude"}, looked up once, on the
 * first record an exclude annotation drops. */
static struct metric *excluded_counter(struct k8s_filter_state *state)
{
    if (!state->metrics.excluded)
        state->metrics.excluded = instance_dropped_counter(state->f, "k8s_exclude");
    return state->metrics.excluded;
}

/* Hands on every record the source holds: with the pod's metadata if it is
 * known now, else with what the file name gives (counted under `why`). */
static void release(struct k8s_filter_state *state, struct k8s_source *s, enum k8s_no_meta why)
{
    struct instance *f = state->f;
    struct k8s_pod *pod = source_lookup(state, s);
    struct k8s_held *h = s->head;
    struct instance *input = h ? h->input : NULL;
    size_t bytes = s->bytes;
    s->head = s->tail = NULL;
    state->held_records -= s->count;
    state->held_bytes -= s->bytes;
    s->count = s->bytes = 0;
    waiting_unlink(state, s);
    while (h) {
        struct k8s_held *next = h->next;
        if (!pod)
            enrich_from_path(state, s, &h->rec, why);
        if (pod && enrich(state, s, &h->rec) == FILTER_DROP)
            filter_drop(f, h->input, h->tag, &h->rec, excluded_counter(state));
        else
            filter_emit(f, h->input, h->tag, &h->rec);
        held_free(h);
        h = next;
    }
    /* Only now may the input resume: its new records come after these. */
    if (input)
        filter_hold(f, input, -(int64_t)bytes);
    gauges_update(state);
}

/* Keeps what is held within hold_buffer_size: the longest waiting go first. */
static void hold_bound(struct k8s_filter_state *state)
{
    const struct k8s_filter_options *opts = state->f->options;
    while (state->waiting && (state->held_bytes > (size_t)opts->hold_buffer_size ||
                              state->held_records > MAX_HELD_RECORDS))
        release(state, state->waiting, K8S_NO_META_FULL);
}

enum filter_result k8s_filter_record(struct instance *f, struct instance *input, const char *tag,
                                     struct record *rec)
{
    const struct k8s_filter_options *opts = f->options;
    struct k8s_filter_state *state = f->state;
    const struct value *path = record_get_root(rec, opts->path_key, state->path_key_len);
    if (!path || path->type != VALUE_STRING) {
        if (!state->warned_no_path)
            log_warn(f->alias,
                     "records without a `%s` field (tag %s) go on without "
                     "kubernetes metadata: the tail input's path_key must be set (logged once)",
                     opts->path_key, tag);
        state->warned_no_path = true;
        metric_add(state->metrics.no_meta[K8S_NO_META_PATH], 1);
        return FILTER_KEEP;
    }
    struct k8s_source *s = source_get(state, input, rec->origin.source_id);
    s->last_seen_ms = loop_now_ms(f->loop);
    source_set_path(s, &path->as.string,
                    record_attachment(rec, opts->path_key, state->path_key_len));
    if (!s->is_pod) {
        if (!state->warned_not_pod)
            log_warn(f->alias,
                     "%s is not a container log file (/var/log/containers/... or "
                     "/var/log/pods/...); such records go on without kubernetes metadata "
                     "(logged once)",
                     s->path);
        state->warned_not_pod = true;
        metric_add(state->metrics.no_meta[K8S_NO_META_PATH], 1);
        return FILTER_KEEP;
    }
    if (s->head) {
        hold(state, s, input, tag, rec);
        hold_bound(state);
        gauges_update(state);
        return FILTER_TAKEN;
    }
    bool can_wait = opts->metadata_wait_ms > 0 && k8s_api_healthy(state->api);
    if (metadata_complete(state, s) || (!can_wait && source_lookup(state, s))) {
        enum filter_result result = enrich(state, s, rec);
        if (result == FILTER_DROP)
            metric_add(excluded_counter(state), 1);
        return result;
    }
    if (can_wait) {
        hold(state, s, input, tag, rec);
        hold_bound(state);
        gauges_update(state);
        return FILTER_TAKEN;
    }
    enrich_from_path(state, s, rec,
                     opts->metadata_wait_ms > 0 ? K8S_NO_META_API : K8S_NO_META_NOT_CACHED);
    return FILTER_KEEP;
}

void k8s_hold_changed(void *data)
{
    struct instance *f = data;
    struct k8s_filter_state *state = f->state;
    bool healthy = k8s_api_healthy(state->api);
    for (struct k8s_source *s = state->waiting, *next; s; s = next) {
        next = s->next_waiting;
        if (metadata_complete(state, s) || !healthy)
            release(state, s, K8S_NO_META_API);
    }
    /* A pod may have been deleted: it expires after cache_ttl. */
    k8s_expire_arm(f, K8S_EXPIRE_EVERY_MS);
}

/* Forgets sources idle for SOURCE_IDLE_MS; returns when the next one will
 * be (INT64_MAX: none left). */
static int64_t sources_sweep(struct k8s_filter_state *state, int64_t now)
{
    int64_t next_due = INT64_MAX;
    size_t bucket = 0;
    struct hmap_node *n = hmap_next(&state->sources, &bucket, NULL);
    while (n) {
        struct hmap_node *next = hmap_next(&state->sources, &bucket, n);
        struct k8s_source *s = hmap_entry(n, struct k8s_source, node);
        int64_t due = s->last_seen_ms + SOURCE_IDLE_MS + 1;
        if (!s->head && now >= due) {
            hmap_remove(&state->sources, n);
            source_free(s);
        } else if (due < next_due) {
            next_due = due; /* one holding records is looked at again then */
        }
        n = next;
    }
    return next_due;
}

int64_t k8s_hold_expire(struct instance *f, int64_t now)
{
    struct k8s_filter_state *state = f->state;
    int64_t pods_due = k8s_cache_expire(state->cache, now);
    int64_t sources_due = sources_sweep(state, now);
    return pods_due < sources_due ? pods_due : sources_due;
}

void k8s_hold_tick(struct instance *f)
{
    const struct k8s_filter_options *opts = f->options;
    struct k8s_filter_state *state = f->state;
    int64_t now = loop_now_ms(f->loop);
    for (struct k8s_source *s = state->waiting, *next; s; s = next) {
        next = s->next_waiting;
        int64_t waited = now - s->head->arrived_ms;
        if (metadata_complete(state, s) || waited >= opts->metadata_wait_ms) {
            release(state, s, K8S_NO_META_WAIT);
        } else if (!s->fetch_asked && k8s_api_synced(state->api) &&
                   waited >= opts->metadata_wait_ms / 4) {
            /* Listed, and still unknown a moment later: the watch has not
             * brought it (yet), so ask for this one pod; again at the next
             * tick if pod_get_rate says wait. */
            s->fetch_asked =
                k8s_api_fetch_pod(state->api, s->parsed.namespace_name, s->parsed.pod_name);
        }
    }
}

void k8s_hold_drain(struct instance *f)
{
    struct k8s_filter_state *state = f->state;
    while (state->waiting)
        release(state, state->waiting, K8S_NO_META_SHUTDOWN);
}

void k8s_hold_free(struct k8s_filter_state *state)
{
    size_t bucket = 0;
    struct hmap_node *n = hmap_next(&state->sources, &bucket, NULL);
    while (n) {
        struct hmap_node *next = hmap_next(&state->sources, &bucket, n);
        source_free(hmap_entry(n, struct k8s_source, node));
        n = next;
    }
    hmap_free(&state->sources);
    state->waiting = state->waiting_tail = NULL;
}
