/* The output thread (see output_worker.h). Each output instance has a queue of
 * deliveries; at most max_in_flight of them are flushing or waiting to retry
 * at once, and they start in submission order. */
#include "output_worker.h"

#include "log.h"
#include "loop.h"
#include "plugin_api.h"
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

    pthread_mutex_t lock;       /* guards the two lists and the three flags */
    struct delivery *incoming;  /* pipeline -> worker, newest first */
    struct delivery *completed; /* worker -> pipeline */
    bool stopping;
    bool finish_asked; /* output_worker_finish */
    bool finished;     /* the thread has ended */
    bool finishing;    /* output thread's copy of finish_asked */
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

static void queue_dispatch(struct output_worker *worker, struct output_queue *queue)
{
    if (queue->dispatching || worker->finishing)
        return; /* a flush finished synchronously: the outer loop goes on */
    queue->dispatching = true;
    while (queue->head && queue->in_flight < queue->output->max_in_flight) {
        struct delivery *delivery = queue->head;
        queue->head = delivery->next;
        if (!queue->head)
            queue->tail = NULL;
        delivery->next = NULL;
        queue_activate(queue, delivery);
        delivery_attempt(delivery);
    }
    queue->dispatching = false;
}

static struct output_queue *worker_queue(struct output_worker *worker, struct instance *output)
{
    return &worker->queues[output->index];
}

/* While finishing: the thread ends once no attempt is running. */
static void worker_maybe_finished(struct output_worker *worker)
{
    for (size_t i = 0; i < worker->queue_count; i++) {
        if (worker->queues[i].active_count > 0)
            return;
    }
    loop_stop(worker->loop);
}

/* delivery.c calls this when a delivery ended (delivered, given up on, or
 * abandoned because the worker is finishing). */
static void worker_on_delivery_end(struct delivery *delivery, void *data)
{
    struct output_worker *worker = data;
    struct output_queue *queue = worker_queue(worker, delivery->output);
    queue_deactivate(queue, delivery);
    worker_complete(worker, delivery);
    queue_dispatch(worker, queue);
    if (worker->finishing)
        worker_maybe_finished(worker);
}

static void worker_abandon(struct output_worker *worker, struct delivery *delivery)
{
    if (delivery->retry_timer)
        loop_cancel_timer(worker->loop, delivery->retry_timer);
    delivery->retry_timer = NULL;
    delivery->abandoned = true;
    worker_complete(worker, delivery);
}

/* output_worker_finish reached the thread: what waits goes back now, what
 * is being attempted goes back when its attempt ends. */
static void worker_begin_finish(struct output_worker *worker)
{
    worker->finishing = true;
    for (size_t i = 0; i < worker->queue_count; i++) {
        struct output_queue *queue = &worker->queues[i];
        while (queue->head) {
            struct delivery *d = queue->head;
            queue->head = d->next;
            worker_abandon(worker, d);
        }
        queue->tail = NULL;
        for (unsigned a = queue->active_count; a-- > 0;) {
            struct delivery *d = queue->active[a];
            if (d->retry_timer) {
                queue_deactivate(queue, d);
                worker_abandon(worker, d);
            } else {
                d->no_retry = true;
            }
        }
    }
    worker_maybe_finished(worker);
}

static void worker_take_incoming(struct output_worker *worker)
{
    pthread_mutex_lock(&worker->lock);
    struct delivery *list = worker->incoming;
    bool stopping = worker->stopping;
    bool finish = worker->finish_asked;
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
    if (finish && !worker->finishing) {
        worker_begin_finish(worker);
        return;
    }
    for (size_t i = 0; i < worker->queue_count; i++)
        queue_dispatch(worker, &worker->queues[i]);
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
        while (queue->active_count > 0)
            worker_abandon(worker, queue->active[--queue->active_count]);
        queue->in_flight = 0;
        while (queue->head) {
            struct delivery *d = queue->head;
            queue->head = d->next;
            worker_abandon(worker, d);
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
    pthread_mutex_lock(&worker->lock);
    worker->finished = true;
    pthread_mutex_unlock(&worker->lock);
    eventfd_signal(worker->completion_fd);
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
    delivery->loop = worker->loop;
    delivery->dead_letter = worker->dead_letter;
    delivery->random_state = &worker->random_state;
    delivery->on_end = worker_on_delivery_end;
    delivery->end_data = worker;
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

void output_worker_finish(struct output_worker *worker)
{
    pthread_mutex_lock(&worker->lock);
    worker->finish_asked = true;
    pthread_mutex_unlock(&worker->lock);
    eventfd_signal(worker->incoming_fd);
}

bool output_worker_finished(struct output_worker *worker)
{
    pthread_mutex_lock(&worker->lock);
    bool finished = worker->finished || !worker->started;
    pthread_mutex_unlock(&worker->lock);
    return finished;
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
