/* Output lanes that coalesce (pipeline_lanes.c): for an output with
 * delivery_max_bytes, the chunks at the head of its lane go as one delivery
 * while they fit (always at least one, in lane order); while max_in_flight
 * deliveries are under way new chunks wait and go together next; a flush
 * that seals many chunks dispatches once, after the loop; a finished
 * delivery acknowledges each of its chunks in order, an abandoned one none;
 * with filesystem storage the chunks left waiting are on disk only, read
 * back when taken, and each chunk's file goes when it is delivered.
 * A real output thread runs a fake output that holds every delivery until
 * the test releases them. */
#include "suites.h"

#include "chunk.h"
#include "chunk_store.h"
#include "loop.h"
#include "metrics.h"
#include "output_worker.h"
#include "pipeline_internal.h"
#include "config.h"
#include "plugin.h"
#include "storage.h"
#include "temp_dir.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum { MAX_DELIVERIES = 32, MAX_CHUNKS = 64 };

/* What the fake output saw, under seen_lock (it runs on the output thread),
 * and what the fake input was acknowledged. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    struct delivery *held[MAX_DELIVERIES];
    size_t held_count;
    uint64_t carried[MAX_DELIVERIES][MAX_CHUNKS]; /* chunk ids, per delivery */
    size_t carried_count[MAX_DELIVERIES];
    size_t deliveries;
    uint64_t acked[MAX_CHUNKS]; /* offsets acknowledged to the input, in order */
    size_t ack_count;
} seen;

static void hold_flush(struct instance *out, struct delivery *d)
{
    pthread_mutex_lock(&seen_lock);
    size_t n = seen.deliveries++;
    for (size_t i = 0; i < delivery_chunk_count(d) && i < MAX_CHUNKS; i++)
        seen.carried[n][i] = delivery_chunk_at(d, i)->id;
    seen.carried_count[n] = delivery_chunk_count(d);
    seen.held[seen.held_count++] = d;
    pthread_mutex_unlock(&seen_lock);
}

/* On the output thread: every held delivery is delivered. */
static void release_held(struct loop *loop, int fd, unsigned events, void *data)
{
    uint64_t value;
    ck_assert_int_eq(read(fd, &value, sizeof value), sizeof value);
    pthread_mutex_lock(&seen_lock);
    struct delivery *held[MAX_DELIVERIES];
    size_t count = seen.held_count;
    memcpy(held, seen.held, count * sizeof *held);
    seen.held_count = 0;
    pthread_mutex_unlock(&seen_lock);
    for (size_t i = 0; i < count; i++)
        delivery_done(held[i], DELIVERY_OK, NULL);
}

static void record_ack(struct instance *in, const struct record_origin *origin)
{
    seen.acked[seen.ack_count++] = origin->offset;
}

static const struct plugin fake_output = {
    .name = "hold", .kind = PLUGIN_OUTPUT, .flush = hold_flush};
static const struct plugin fake_input = {.name = "in", .kind = PLUGIN_INPUT, .ack = record_ack};

struct rig {
    struct pipeline p;
    struct instance input;
    struct instance_core input_core;
    struct instance_config input_config;
    struct instance *inputs[1];
    struct instance output;
    struct instance_core output_core;
    struct instance_config output_config;
    int release_fd;
};

static struct rig *rig_start(unsigned max_in_flight, size_t budget)
{
    struct rig *r = calloc(1, sizeof *r);
    struct pipeline *p = &r->p;
    memset(&seen, 0, sizeof seen);
    r->input = (struct instance){.plugin = &fake_input,
                                 .config = &r->input_config,
                                 .alias = "in",
                                 .core = &r->input_core,
                                 .pipeline = p};
    r->input_config.common.buffer_limit = 1 << 30;
    r->input.metrics.buffer_bytes = metrics_gauge("test_lane_buffer", "t", "");
    r->inputs[0] = &r->input;
    r->output = (struct instance){.plugin = &fake_output,
                                  .config = &r->output_config,
                                  .alias = "out",
                                  .core = &r->output_core,
                                  .pipeline = p};
    r->output.max_in_flight = max_in_flight;
    r->output.delivery_max_bytes = budget;
    r->output.metrics.records = metrics_counter("test_lane_records", "t", "");
    p->loop = loop_create();
    p->inputs = r->inputs;
    p->input_count = 1;
    p->outputs = &r->output;
    p->output_count = 1;
    p->store = chunk_store_create(1);
    p->chunks_pending = metrics_gauge("test_lane_pending", "t", "");
    p->memory_bytes_gauge = metrics_gauge("test_lane_memory", "t", "");
    p->memory_chunks_gauge = metrics_gauge("test_lane_memory_chunks", "t", "");
    p->worker = output_worker_create(&r->output, 1, NULL);
    ck_assert_ptr_nonnull(p->worker);
    r->release_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ck_assert_int_eq(loop_watch_fd(r->output.loop, r->release_fd, LOOP_READABLE, release_held, r),
                     0);
    ck_assert_int_eq(output_worker_start(p->worker), 0);
    pipeline_open_lanes(p);
    return r;
}

/* Abandons what is still with the output thread: its chunks stay in the
 * store, unacknowledged. */
static void rig_stop(struct rig *r)
{
    struct pipeline *p = &r->p;
    output_worker_stop(p->worker);
    pipeline_on_completion(p->loop, -1, 0, p);
    ck_assert_uint_eq(p->lanes[0].submitted, 0);
    pipeline_close_lanes(p);
    output_worker_destroy(p->worker);
    chunk_store_destroy(p->store);
    loop_destroy(p->loop);
    close(r->release_fd);
    if (r->p.storage)
        storage_close(r->p.storage);
    free(r);
}

/* Waits (bounded) until the fake output has seen `count` deliveries. */
static void wait_deliveries(size_t count)
{
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&seen_lock);
        size_t n = seen.deliveries;
        pthread_mutex_unlock(&seen_lock);
        if (n >= count)
            break;
        usleep(1000);
    }
    pthread_mutex_lock(&seen_lock);
    ck_assert_uint_eq(seen.deliveries, count);
    pthread_mutex_unlock(&seen_lock);
}

/* Releases the held deliveries and takes their completions until only
 * `left` deliveries are with the output thread. */
static void release_and_complete(struct rig *r, unsigned left)
{
    uint64_t one = 1;
    ck_assert_int_eq(write(r->release_fd, &one, sizeof one), sizeof one);
    struct pollfd pfd = {.fd = output_worker_completion_fd(r->p.worker), .events = POLLIN};
    for (int i = 0; i < 500 && r->p.lanes[0].submitted > left; i++) {
        poll(&pfd, 1, 10);
        pipeline_on_completion(r->p.loop, pfd.fd, 0, &r->p);
    }
    ck_assert_uint_eq(r->p.lanes[0].submitted, left);
}

/* An open chunk of input 0 with `records` records of source `id`, offsets
 * id*100+1, ..., routed to the output. */
static struct chunk *open_chunk(struct rig *r, uint64_t id, int records)
{
    char tag[32];
    snprintf(tag, sizeof tag, "tag%llu", (unsigned long long)id);
    struct chunk *chunk = chunk_new(id, 0, tag, 1, 0);
    for (int i = 0; i < records; i++) {
        struct record rec;
        record_init(&rec);
        rec.origin.source_id = id;
        rec.origin.offset = id * 100 + (uint64_t)i + 1;
        struct value v = value_cstring("0123456789012345678901234567890123456789");
        record_set_key(&rec, "log", &v);
        ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
        record_free(&rec);
    }
    chunk_store_add_open(r->p.store, chunk);
    return chunk;
}

/* Seals an open chunk into the store and the lane, without dispatching. */
static struct chunk *queue_chunk(struct rig *r, uint64_t id, int records)
{
    struct chunk *chunk = open_chunk(r, id, records);
    chunk_seal(chunk);
    chunk->bytes = chunk->data.len;
    chunk_store_seal(r->p.store, chunk, 1);
    lane_push(&r->p.lanes[0], chunk);
    return chunk;
}

static void assert_carried(size_t delivery, const uint64_t *ids, size_t count)
{
    ck_assert_uint_eq(seen.carried_count[delivery], count);
    for (size_t i = 0; i < count; i++)
        ck_assert_uint_eq(seen.carried[delivery][i], ids[i]);
}

START_TEST(test_lane_takes_chunks_within_the_budget_in_order)
{
    struct rig *r = rig_start(4, 1); /* the budget is set once a chunk's size is known */
    struct chunk *small = queue_chunk(r, 1, 4);
    r->output.delivery_max_bytes = small->bytes * 3 + small->bytes / 2;
    queue_chunk(r, 2, 4);
    queue_chunk(r, 3, 4);
    struct chunk *big = queue_chunk(r, 4, 40); /* larger than the budget: alone */
    ck_assert_uint_gt(big->bytes, r->output.delivery_max_bytes);
    queue_chunk(r, 5, 4);
    queue_chunk(r, 6, 4);
    lane_dispatch(&r->p, 0);
    wait_deliveries(3);
    assert_carried(0, (uint64_t[]){1, 2, 3}, 3);
    assert_carried(1, (uint64_t[]){4}, 1);
    assert_carried(2, (uint64_t[]){5, 6}, 2);
    ck_assert_uint_eq(r->p.lanes[0].count, 0);
    ck_assert_uint_eq(r->p.lanes[0].submitted, 3);
    ck_assert_uint_eq(big->submitted, 1);
    rig_stop(r);
}
END_TEST

/* Outputs without a budget keep one chunk per delivery. */
START_TEST(test_lane_without_budget_sends_chunks_alone)
{
    struct rig *r = rig_start(4, 0);
    ck_assert_uint_eq(r->p.lanes[0].window, ~0u);
    for (uint64_t id = 1; id <= 3; id++)
        queue_chunk(r, id, 2);
    lane_dispatch(&r->p, 0);
    wait_deliveries(3);
    for (size_t i = 0; i < 3; i++)
        assert_carried(i, (uint64_t[]){i + 1}, 1);
    rig_stop(r);
}
END_TEST

/* Two deliveries in flight: the chunks after them wait in the lane, and go
 * together once the first finish; each finished chunk is acknowledged in
 * order, the chunks of abandoned deliveries are not. */
START_TEST(test_lane_waits_while_every_delivery_is_under_way)
{
    struct rig *r = rig_start(2, 1);
    ck_assert_uint_eq(r->p.lanes[0].window, 2);
    struct chunk *first = queue_chunk(r, 1, 3);
    r->output.delivery_max_bytes = first->bytes * 3;
    for (uint64_t id = 2; id <= 9; id++)
        queue_chunk(r, id, 3);
    lane_dispatch(&r->p, 0);
    wait_deliveries(2);
    ck_assert_uint_eq(r->p.lanes[0].count, 3);
    for (uint64_t id = 10; id <= 12; id++)
        queue_chunk(r, id, 3);
    lane_dispatch(&r->p, 0);
    ck_assert_uint_eq(r->p.lanes[0].count, 6);
    ck_assert_uint_eq(seen.ack_count, 0);

    release_and_complete(r, 0);
    /* Chunks 1 to 6, each at its highest offset, in order. */
    ck_assert_uint_eq(seen.ack_count, 6);
    for (size_t i = 0; i < 6; i++)
        ck_assert_uint_eq(seen.acked[i], (i + 1) * 100 + 3);
    lane_dispatch(&r->p, 0);
    wait_deliveries(4);
    assert_carried(2, (uint64_t[]){7, 8, 9}, 3);
    assert_carried(3, (uint64_t[]){10, 11, 12}, 3);
    rig_stop(r);
    ck_assert_uint_eq(seen.ack_count, 6);
}
END_TEST

/* The flush timer seals every open chunk: one delivery takes them all, not
 * the first one alone and then max_in_flight - 1 more. */
static void seal_all_dispatches_once(bool groups)
{
    struct rig *r = rig_start(4, 1 << 20);
    r->input_core.retagged = groups;
    for (uint64_t id = 1; id <= 20; id++)
        open_chunk(r, id, 2);
    pipeline_seal_all(&r->p);
    wait_deliveries(1);
    ck_assert_uint_eq(seen.carried_count[0], 20);
    ck_assert_uint_eq(r->p.lanes[0].deliveries, 1);
    ck_assert_uint_eq(r->p.lanes[0].count, 0);
    release_and_complete(r, 0);
    ck_assert_uint_eq(seen.ack_count, 20); /* a group: each source once */
    ck_assert_uint_eq(chunk_store_sealed_count(r->p.store), 0);
    rig_stop(r);
}

START_TEST(test_seal_all_dispatches_once)
{
    seal_all_dispatches_once(false);
}
END_TEST

START_TEST(test_group_seal_dispatches_once)
{
    seal_all_dispatches_once(true);
}
END_TEST

START_TEST(test_seal_input_dispatches_once)
{
    struct rig *r = rig_start(4, 1 << 20);
    for (uint64_t id = 1; id <= 10; id++)
        open_chunk(r, id, 2);
    pipeline_seal_input(&r->p, 0);
    wait_deliveries(1);
    ck_assert_uint_eq(seen.carried_count[0], 10);
    rig_stop(r);
}
END_TEST

/* Chunk files in `dir`/chunks. */
static size_t chunk_files(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/chunks", dir);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, ".chunk") != NULL;
    closedir(d);
    return n;
}

/* Filesystem storage: the nine chunks sealed together are one file (a
 * pack). The three a delivery takes and the three the next delivery takes
 * stay in memory; the last three wait on disk (evicted) and are read back
 * when their delivery comes. The file goes once its last chunk is released. */
START_TEST(test_lane_reads_chunks_back_from_disk)
{
    char *dir = temp_dir_make("lane_storage");
    struct rig *r = rig_start(1, 1);
    struct storage_config config = {.type = "filesystem", .max_size = 1 << 30, .sync = "normal"};
    r->p.storage = storage_open(dir, &config);
    ck_assert_ptr_nonnull(r->p.storage);
    r->input_core.uses_disk = true;
    struct chunk *chunks[9];
    for (uint64_t id = 1; id <= 9; id++)
        chunks[id - 1] = open_chunk(r, id, 3);
    r->output.delivery_max_bytes = chunks[0]->data.len * 3;
    pipeline_seal_all(&r->p);
    wait_deliveries(1);
    ck_assert_uint_eq(chunk_files(dir), 1);
    ck_assert_uint_eq(seen.ack_count, 9); /* on disk: acknowledged at once */
    ck_assert_uint_eq(seen.carried_count[0], 3);
    size_t evicted = 0;
    for (size_t i = 0; i < 9; i++) {
        ck_assert(chunks[i]->persisted);
        /* Taken or next: in memory; later: on disk only. */
        ck_assert(!chunks[i]->evicted || chunks[i]->submitted == 0);
        evicted += chunks[i]->evicted;
    }
    ck_assert_uint_eq(evicted, 3);
    for (size_t i = 0; i < 3; i++) /* the lane's last three */
        ck_assert(r->p.lanes[0].ring[(r->p.lanes[0].head + 3 + i) % r->p.lanes[0].cap]->evicted);
    for (unsigned d = 1; d < 3; d++) {
        release_and_complete(r, 0);
        ck_assert_uint_eq(chunk_files(dir), 1);
        lane_dispatch(&r->p, 0);
        wait_deliveries(d + 1);
        ck_assert_uint_eq(seen.carried_count[d], 3);
    }
    /* Each chunk once. */
    uint64_t ids = 0;
    for (size_t d = 0; d < 3; d++)
        for (size_t i = 0; i < 3; i++)
            ids |= 1ull << seen.carried[d][i];
    ck_assert_uint_eq(ids, 0x3fe);
    release_and_complete(r, 0);
    ck_assert_uint_eq(chunk_files(dir), 0);
    ck_assert_uint_eq(chunk_store_sealed_count(r->p.store), 0);
    rig_stop(r);
    temp_dir_remove(dir);
}
END_TEST

/* With memory over half the input's buffer_limit, every chunk on disk that
 * waits leaves memory, the next delivery's too: memory is needed. */
START_TEST(test_lane_evicts_when_memory_is_short)
{
    char *dir = temp_dir_make("lane_storage");
    struct rig *r = rig_start(1, 1);
    struct storage_config config = {.type = "filesystem", .max_size = 1 << 30, .sync = "normal"};
    r->p.storage = storage_open(dir, &config);
    ck_assert_ptr_nonnull(r->p.storage);
    r->input_core.uses_disk = true;
    struct chunk *chunks[6];
    for (uint64_t id = 1; id <= 6; id++)
        chunks[id - 1] = open_chunk(r, id, 3);
    r->output.delivery_max_bytes = chunks[0]->data.len * 3;
    r->input_config.common.buffer_limit = (int64_t)chunks[0]->data.len * 4;
    pipeline_count_memory(&r->p, (int64_t)chunks[0]->data.len * 6, 6); /* as appends do */
    pipeline_seal_all(&r->p);
    wait_deliveries(1);
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(chunks[i]->evicted, chunks[i]->submitted == 0);
    release_and_complete(r, 0);
    lane_dispatch(&r->p, 0);
    wait_deliveries(2);
    ck_assert_uint_eq(seen.carried_count[1], 3);
    release_and_complete(r, 0);
    ck_assert_uint_eq(chunk_files(dir), 0);
    rig_stop(r);
    temp_dir_remove(dir);
}
END_TEST

Suite *lane_suite(void)
{
    Suite *s = suite_create("lane");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_lane_takes_chunks_within_the_budget_in_order);
    tcase_add_test(tc, test_lane_without_budget_sends_chunks_alone);
    tcase_add_test(tc, test_lane_waits_while_every_delivery_is_under_way);
    tcase_add_test(tc, test_seal_all_dispatches_once);
    tcase_add_test(tc, test_group_seal_dispatches_once);
    tcase_add_test(tc, test_seal_input_dispatches_once);
    tcase_add_test(tc, test_lane_reads_chunks_back_from_disk);
    tcase_add_test(tc, test_lane_evicts_when_memory_is_short);
    suite_add_tcase(s, tc);
    return s;
}
