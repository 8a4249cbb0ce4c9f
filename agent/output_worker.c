/* The output thread (see output_worker.h). Each output instance has a queue of
 * deliveries; at most max_in_flight of them are flushing or waiting to retry
 * at once, and they start in submission order. */
#include "output_worker.h"

#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct output_queue {
    struct instance *output;
    struct delivery *head;
    struct delivery *tail;
    unsigned in_flight;
    struct delivery **active; /* in flight, for abandonment at stop */
    unsigned active_count;
    bool dispatching;
};

struct output_worker {
    struct loop *loop;
    pthread_t thread;
    bool started;
    struct output_queue *queues;
    size_t queue_count;
    unsigned random_state;
    struct dead_letter *dead_letter;

    pthread_mutex_t lock;       /* guards the two lists and `stopping` */
    struct delivery *incoming;  /* pipeline -> worker, newest first */
    struct delivery *completed; /* worker -> pipeline */
    bool stopping;
    int incoming_fd;   /* eventfd: work arrived or stop requested */
    int completion_fd; /* eventfd: deliveries finished */
};

static void eventfd_signal(int fd)
{
    uint64_t one = 1;
    while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

static void eventfd_drain(int fd)
{
    uint64_t value;
    while (read(fd, &value, sizeof value) < 0 && errno == EINTR)
        ;
}

int64_t output_retry_delay_ms(int64_t retry_min_ms, int64_t retry_max_ms, unsigned attempt,
                              double unit_random)
{
    int64_t base = retry_min_ms;
    for (unsigned i = 1; i < attempt && base < retry_max_ms; i++)
        base *= 2;
    if (base > retry_max_ms)
        base = retry_max_ms;
    int64_t delay = base / 2 + (int64_t)((double)(base - base / 2) * unit_random);
    return delay < retry_min_ms ? retry_min_ms : delay;
}

/* ---- worker thread side ---- */

static void queue_activate(struct output_queue *queue, struct delivery *delivery)
{
    queue->active[queue->active_count++] = delivery;
    queue->in_flight++;
}

static void queue_deactivate(struct output_queue *queue, struct delivery *delivery)
{
    for (unsigned i = 0; i < queue->active_count; i++) {
        if (queue->active[i] == delivery) {
            queue->active[i] = queue->active[--queue->active_count];
            break;
        }
    }
    queue->in_flight--;
}

static void worker_complete(struct output_worker *worker, struct delivery *delivery)
{
    pthread_mutex_lock(&worker->lock);
    delivery->next = worker->completed;
    worker->completed = delivery;
    pthread_mutex_unlock(&worker->lock);
    eventfd_signal(worker->completion_fd);
}

static void queue_dispatch(struct output_queue *queue)
{
    if (queue->dispatching)
        return; /* a flush finished synchronously: the outer loop goes on */
    queue->dispatching = true;
    while (queue->head && queue->in_flight < queue->output->max_in_flight) {
        struct delivery *delivery = queue->head;
        queue->head = delivery->next;
        if (!queue->head)
            queue->tail = NULL;
        delivery->next = NULL;
        queue_activate(queue, delivery);
        delivery->attempts++;
        queue->output->plugin->flush(queue->output, delivery);
    }
    queue->dispatching = false;
}

static struct output_queue *worker_queue(struct output_worker *worker, struct instance *output)
{
    return &worker->queues[output->index];
}

static void delivery_retry_timer(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct delivery *delivery = data;
    delivery->retry_timer = NULL; /* one-shot: freed after this callback */
    delivery->attempts++;
    delivery->output->plugin->flush(delivery->output, delivery);
}

static void delivery_schedule_retry(struct delivery *delivery, const char *reason)
{
    struct instance *out = delivery->output;
    struct output_worker *worker = delivery->worker;
    const struct instance_common *common = &out->config->common;
    double unit = (double)rand_r(&worker->random_state) / (double)RAND_MAX;
    int64_t delay =
        output_retry_delay_ms(common->retry_min_ms, common->retry_max_ms, delivery->attempts, unit);

    /* Retry-After is honoured up to retry_max, so a bogus value cannot park
     * the chunk for hours. */
    int64_t asked = delivery->retry_after_ms;
    if (asked > common->retry_max_ms)
        asked = common->retry_max_ms;
    if (asked > delay)
        delay = asked;
    delivery->retry_after_ms = 0;

    metric_add(out->metrics.retries, 1);
    log_warn(out->alias, "chunk %llu (tag %s, %u records): %s; retry %u in %.1fs",
             (unsigned long long)delivery->chunk->id, delivery->chunk->tag,
             delivery->chunk->record_count, reason ? reason : "failed", delivery->attempts,
             (double)delay / 1000.0);
    delivery->retry_timer = loop_add_timer(worker->loop, delay, 0, delivery_retry_timer, delivery);
}

static bool delivery_retries_left(const struct delivery *delivery)
{
    int64_t limit = delivery->output->config->common.retry_limit;
    return limit < 0 || (int64_t)delivery->attempts <= limit;
}

const struct chunk *delivery_chunk(const struct delivery *delivery)
{
    return delivery->chunk;
}

bool delivery_is_last_attempt(const struct delivery *delivery)
{
    return !delivery_retries_left(delivery);
}

struct dead_letter *output_worker_dead_letter(const struct output_worker *worker)
{
    return worker->dead_letter;
}

static void delivery_give_up(struct delivery *delivery, const char *what, const char *reason)
{
    char why[512];
    snprintf(why, sizeof why, "%s: %s", what, reason ? reason : "no reason given");
    log_error(delivery->output->alias,
              "chunk %llu (tag %s, %u records): %s; %u records not yet taken go to the "
              "dead-letter folder",
              (unsigned long long)delivery->chunk->id, delivery->chunk->tag,
              delivery->chunk->record_count, why,
              delivery->chunk->record_count - delivery->done_count);
    delivery_dead_letter_rest(delivery, why);
}

void delivery_done(struct delivery *delivery, enum delivery_result result, const char *reason)
{
    struct instance *out = delivery->output;
    struct output_queue *queue = worker_queue(delivery->worker, out);

    if (result == DELIVERY_RETRY && delivery_retries_left(delivery)) {
        delivery_schedule_retry(delivery, reason);
        return;
    }
    if (result == DELIVERY_RETRY) {
        char what[64];
        snprintf(what, sizeof what, "gave up after %u attempts", delivery->attempts);
        delivery_give_up(delivery, what, reason);
        result = DELIVERY_FAILED;
    } else if (result == DELIVERY_FAILED) {
        delivery_give_up(delivery, "undeliverable", reason);
    }
    delivery->result = result;
    if (result == DELIVERY_OK)
        metric_add(out->metrics.records,
                   (int64_t)delivery->chunk->record_count - delivery->dead_lettered);
    else
        metric_add(out->metrics.failures, 1);
    queue_deactivate(queue, delivery);
    worker_complete(delivery->worker, delivery);
    queue_dispatch(queue);
}

static void worker_take_incoming(struct output_worker *worker)
{
    pthread_mutex_lock(&worker->lock);
    struct delivery *list = worker->incoming;
    bool stopping = worker->stopping;
    worker->incoming = NULL;
    pthread_mutex_unlock(&worker->lock);

    /* The list is newest first: reverse it to keep submission order. */
    struct delivery *ordered = NULL;
    while (list) {
        struct delivery *next = list->next;
        list->next = ordered;
        ordered = list;
        list = next;
    }
    for (struct delivery *d = ordered; d;) {
        struct delivery *next = d->next;
        struct output_queue *queue = worker_queue(worker, d->output);
        d->next = NULL;
        if (queue->tail)
            queue->tail->next = d;
        else
            queue->head = d;
        queue->tail = d;
        d = next;
    }
    if (stopping) {
        loop_stop(worker->loop);
        return;
    }
    for (size_t i = 0; i < worker->queue_count; i++)
        queue_dispatch(&worker->queues[i]);
}

static void worker_on_incoming(struct loop *loop, int fd, unsigned events, void *data)
{
    eventfd_drain(fd);
    worker_take_incoming(data);
}

/* At stop: everything still queued or in flight goes back as abandoned. */
static void worker_abandon_all(struct output_worker *worker)
{
    for (size_t i = 0; i < worker->queue_count; i++) {
        struct output_queue *queue = &worker->queues[i];
        while (queue->active_count > 0) {
            struct delivery *d = queue->active[--queue->active_count];
            if (d->retry_timer)
                loop_cancel_timer(worker->loop, d->retry_timer);
            d->retry_timer = NULL;
            d->abandoned = true;
            worker_complete(worker, d);
        }
        queue->in_flight = 0;
        while (queue->head) {
            struct delivery *d = queue->head;
            queue->head = d->next;
            d->abandoned = true;
            worker_complete(worker, d);
        }
        queue->tail = NULL;
    }
}

static void *worker_main(void *arg)
{
    struct output_worker *worker = arg;
    loop_run(worker->loop);
    worker_abandon_all(worker);
    for (size_t i = 0; i < worker->queue_count; i++) {
        struct instance *out = worker->queues[i].output;
        if (out->plugin->destroy)
            out->plugin->destroy(out);
    }
    return NULL;
}

/* ---- pipeline thread side ---- */

struct output_worker *output_worker_create(struct instance *outputs, size_t count,
                                           struct dead_letter *dead_letter)
{
    struct output_worker *worker = xcalloc(1, sizeof *worker);
    worker->dead_letter = dead_letter;
    worker->loop = loop_create();
    worker->incoming_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    worker->completion_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!worker->loop || worker->incoming_fd < 0 || worker->completion_fd < 0) {
        log_error("pipeline", "output thread: cannot create its event loop: %s", strerror(errno));
        output_worker_destroy(worker);
        return NULL;
    }
    pthread_mutex_init(&worker->lock, NULL);
    worker->random_state = (unsigned)getpid() ^ (unsigned)monotonic_ms();
    worker->queue_count = count;
    worker->queues = xcalloc(count, sizeof *worker->queues);
    for (size_t i = 0; i < count; i++) {
        outputs[i].loop = worker->loop;
        worker->queues[i].output = &outputs[i];
    }
    loop_watch_fd(worker->loop, worker->incoming_fd, LOOP_READABLE, worker_on_incoming, worker);
    return worker;
}

int output_worker_start(struct output_worker *worker)
{
    for (size_t i = 0; i < worker->queue_count; i++) {
        struct output_queue *queue = &worker->queues[i];
        unsigned slots = queue->output->max_in_flight ? queue->output->max_in_flight : 1;
        queue->output->max_in_flight = slots;
        queue->active = xcalloc(slots, sizeof *queue->active);
    }
    int rc = pthread_create(&worker->thread, NULL, worker_main, worker);
    if (rc != 0) {
        log_error("pipeline", "cannot start the output thread: %s", strerror(rc));
        return -1;
    }
    worker->started = true;
    return 0;
}

void output_worker_submit(struct output_worker *worker, struct delivery *delivery)
{
    delivery->worker = worker;
    pthread_mutex_lock(&worker->lock);
    delivery->next = worker->incoming;
    worker->incoming = delivery;
    pthread_mutex_unlock(&worker->lock);
    eventfd_signal(worker->incoming_fd);
}

int output_worker_completion_fd(const struct output_worker *worker)
{
    return worker->completion_fd;
}

struct delivery *output_worker_take_completed(struct output_worker *worker)
{
    eventfd_drain(worker->completion_fd);
    pthread_mutex_lock(&worker->lock);
    struct delivery *list = worker->completed;
    worker->completed = NULL;
    pthread_mutex_unlock(&worker->lock);
    return list;
}

void output_worker_stop(struct output_worker *worker)
{
    if (!worker->started)
        return;
    pthread_mutex_lock(&worker->lock);
    worker->stopping = true;
    pthread_mutex_unlock(&worker->lock);
    eventfd_signal(worker->incoming_fd);
    pthread_join(worker->thread, NULL);
    worker->started = false;
}

void output_worker_destroy(struct output_worker *worker)
{
    if (!worker)
        return;
    if (worker->queues) {
        for (size_t i = 0; i < worker->queue_count; i++)
            free(worker->queues[i].active);
        free(worker->queues);
        pthread_mutex_destroy(&worker->lock);
    }
    if (worker->loop)
        loop_destroy(worker->loop);
    if (worker->incoming_fd >= 0)
        close(worker->incoming_fd);
    if (worker->completion_fd >= 0)
        close(worker->completion_fd);
    free(worker);
}
