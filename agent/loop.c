/* The event loop (see loop.h): level-triggered epoll for fds and a binary
 * min-heap of monotonic timers, in the spirit of Redis's ae.c. It does no I/O
 * itself and knows nothing of threads; one loop belongs to one thread. */
#include "loop.h"

#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

enum { LOOP_MAX_EVENTS = 128 };

/* One slot per fd number. The generation changes whenever the slot gets a new
 * owner (watch with another callback, or unwatch), and travels in the epoll
 * event, so an event fetched for the old owner is never given to the new one. */
struct loop_fd {
    loop_fd_cb *cb;
    void *data;
    unsigned events;
    uint32_t generation;
    bool watched;
};

struct loop_timer {
    int64_t deadline;
    int64_t interval;
    /* Breaks deadline ties in creation order and tells timers added during a
     * timer pass apart from those that were due when it began. */
    uint64_t seq;
    size_t heap_index;
    loop_timer_cb *cb;
    void *data;
    bool cancelled;
};

struct loop {
    int epoll_fd;
    struct loop_fd *fds;
    size_t fds_cap;
    struct loop_timer **heap;
    size_t heap_len;
    size_t heap_cap;
    uint64_t next_seq;
    /* The timer whose callback is running: cancelling it only marks it. */
    struct loop_timer *firing;
    int64_t now;
    bool running;
    struct epoll_event events[LOOP_MAX_EVENTS];
};

int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct loop *loop_create(void)
{
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0)
        return NULL;
    struct loop *loop = xcalloc(1, sizeof *loop);
    loop->epoll_fd = epoll_fd;
    loop->now = monotonic_ms();
    return loop;
}

void loop_destroy(struct loop *loop)
{
    if (!loop)
        return;
    for (size_t i = 0; i < loop->heap_len; i++)
        free(loop->heap[i]);
    free(loop->heap);
    free(loop->fds);
    close(loop->epoll_fd);
    free(loop);
}

/* ---- file events ---- */

static uint32_t epoll_mask(unsigned events)
{
    uint32_t mask = 0;
    if (events & LOOP_READABLE)
        mask |= EPOLLIN;
    if (events & LOOP_WRITABLE)
        mask |= EPOLLOUT;
    return mask;
}

static uint64_t event_tag(int fd, uint32_t generation)
{
    return (uint64_t)generation << 32 | (uint32_t)fd;
}

static int epoll_register(struct loop *loop, int fd, unsigned events, uint32_t generation,
                          bool known)
{
    struct epoll_event ev = {.events = epoll_mask(events), .data.u64 = event_tag(fd, generation)};
    if (known && epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, fd, &ev) == 0)
        return 0;
    /* A watched fd that was closed without unwatching left epoll on its own;
     * its number may now name a new file, which must be added afresh. */
    if (known && errno != ENOENT)
        return -1;
    return epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

int loop_watch_fd(struct loop *loop, int fd, unsigned events, loop_fd_cb *cb, void *data)
{
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    size_t old_cap = loop->fds_cap;
    loop->fds = xgrow(loop->fds, &loop->fds_cap, (size_t)fd + 1, sizeof *loop->fds);
    memset(loop->fds + old_cap, 0, (loop->fds_cap - old_cap) * sizeof *loop->fds);

    struct loop_fd *slot = &loop->fds[fd];
    uint32_t generation = slot->generation;
    if (!slot->watched || slot->cb != cb || slot->data != data)
        generation++;
    if (epoll_register(loop, fd, events, generation, slot->watched) < 0)
        return -1;
    *slot = (struct loop_fd){
        .cb = cb, .data = data, .events = events, .generation = generation, .watched = true};
    return 0;
}

void loop_unwatch_fd(struct loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->fds_cap || !loop->fds[fd].watched)
        return;
    /* Fails harmlessly when the fd was already closed: epoll dropped it then. */
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
    struct loop_fd *slot = &loop->fds[fd];
    slot->watched = false;
    slot->cb = NULL;
    slot->data = NULL;
    slot->generation++;
}

static void dispatch_fd_event(struct loop *loop, const struct epoll_event *ev)
{
    int fd = (int)(uint32_t)ev->data.u64;
    uint32_t generation = (uint32_t)(ev->data.u64 >> 32);
    if ((size_t)fd >= loop->fds_cap)
        return;
    const struct loop_fd *slot = &loop->fds[fd];
    if (!slot->watched || slot->generation != generation)
        return;

    unsigned events = 0;
    if (ev->events & (EPOLLERR | EPOLLHUP))
        events = LOOP_READABLE | LOOP_WRITABLE;
    if (ev->events & EPOLLIN)
        events |= LOOP_READABLE & slot->events;
    if (ev->events & EPOLLOUT)
        events |= LOOP_WRITABLE & slot->events;
    if (events)
        slot->cb(loop, fd, events, slot->data);
}

/* ---- timers: a binary min-heap ordered by (deadline, seq) ---- */

static bool timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->seq < b->seq;
}

static void heap_place(struct loop *loop, size_t i, struct loop_timer *timer)
{
    loop->heap[i] = timer;
    timer->heap_index = i;
}

static void heap_sift_up(struct loop *loop, size_t i)
{
    struct loop_timer *timer = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(timer, loop->heap[parent]))
            break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, timer);
}

static void heap_sift_down(struct loop *loop, size_t i)
{
    struct loop_timer *timer = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len && timer_before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!timer_before(loop->heap[child], timer))
            break;
        heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    heap_place(loop, i, timer);
}

static void heap_push(struct loop *loop, struct loop_timer *timer)
{
    loop->heap = xgrow(loop->heap, &loop->heap_cap, loop->heap_len + 1, sizeof *loop->heap);
    loop->heap[loop->heap_len++] = timer;
    heap_sift_up(loop, loop->heap_len - 1);
}

static void heap_remove(struct loop *loop, struct loop_timer *timer)
{
    size_t i = timer->heap_index;
    struct loop_timer *last = loop->heap[--loop->heap_len];
    if (i == loop->heap_len)
        return;
    heap_place(loop, i, last);
    if (i > 0 && timer_before(last, loop->heap[(i - 1) / 2]))
        heap_sift_up(loop, i);
    else
        heap_sift_down(loop, i);
}

static void timer_schedule(struct loop *loop, struct loop_timer *timer, int64_t delay_ms)
{
    timer->deadline = monotonic_ms() + (delay_ms > 0 ? delay_ms : 0);
    timer->seq = loop->next_seq++;
    heap_push(loop, timer);
}

struct loop_timer *loop_add_timer(struct loop *loop, int64_t delay_ms, int64_t interval_ms,
                                  loop_timer_cb *cb, void *data)
{
    struct loop_timer *timer = xcalloc(1, sizeof *timer);
    timer->interval = interval_ms > 0 ? interval_ms : 0;
    timer->cb = cb;
    timer->data = data;
    timer_schedule(loop, timer, delay_ms);
    return timer;
}

void loop_cancel_timer(struct loop *loop, struct loop_timer *timer)
{
    if (!timer)
        return;
    if (timer == loop->firing) {
        timer->cancelled = true;
        return;
    }
    heap_remove(loop, timer);
    free(timer);
}

/* Runs one due timer. It leaves the heap while its callback runs, so the
 * callback may cancel it (freed here, once) or add others freely. */
static void fire_timer(struct loop *loop, struct loop_timer *timer)
{
    heap_remove(loop, timer);
    loop->firing = timer;
    timer->cb(loop, timer, timer->data);
    loop->firing = NULL;
    if (timer->cancelled || timer->interval == 0)
        free(timer);
    else
        timer_schedule(loop, timer, timer->interval);
}

/* Fires the due timers that existed when the iteration began. Timers added or
 * rescheduled since then have a seq >= seq_limit and wait for the next
 * iteration, so a zero-delay timer that re-adds itself cannot starve the fds. */
static void run_due_timers(struct loop *loop, uint64_t seq_limit)
{
    while (loop->running && loop->heap_len > 0) {
        struct loop_timer *timer = loop->heap[0];
        if (timer->deadline > loop->now || timer->seq >= seq_limit)
            break;
        fire_timer(loop, timer);
    }
}

static int wait_timeout_ms(const struct loop *loop)
{
    if (loop->heap_len == 0)
        return -1;
    int64_t wait = loop->heap[0]->deadline - monotonic_ms();
    if (wait <= 0)
        return 0;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* ---- running ---- */

static int wait_for_events(struct loop *loop)
{
    for (;;) {
        int n = epoll_wait(loop->epoll_fd, loop->events, LOOP_MAX_EVENTS, wait_timeout_ms(loop));
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

int loop_run(struct loop *loop)
{
    loop->running = true;
    while (loop->running) {
        int n = wait_for_events(loop);
        if (n < 0) {
            log_error("loop", "epoll_wait: %s", strerror(errno));
            loop->running = false;
            return -1;
        }
        loop->now = monotonic_ms();
        uint64_t seq_limit = loop->next_seq;
        for (int i = 0; i < n && loop->running; i++)
            dispatch_fd_event(loop, &loop->events[i]);
        run_due_timers(loop, seq_limit);
    }
    return 0;
}

void loop_stop(struct loop *loop)
{
    loop->running = false;
}

bool loop_is_running(const struct loop *loop)
{
    return loop->running;
}

int64_t loop_now_ms(const struct loop *loop)
{
    return loop->now;
}
