/* The event loop: epoll file events and monotonic timers, one loop per thread.
 * The pipeline thread and the output thread each run one. Not thread-safe:
 * another thread talks to a loop only through an fd it watches (eventfd).
 *
 * Callbacks may add and remove file events and timers, including their own,
 * and may call loop_stop(). */
#ifndef SKIFF_LOOP_H
#define SKIFF_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_timer;

enum {
    LOOP_READABLE = 1u << 0,
    LOOP_WRITABLE = 1u << 1,
};

/* `events` is a mask of LOOP_READABLE / LOOP_WRITABLE; errors and hang-ups are
 * reported as both, so the callback's read or write sees them. */
typedef void loop_fd_cb(struct loop *loop, int fd, unsigned events, void *data);
typedef void loop_timer_cb(struct loop *loop, struct loop_timer *timer, void *data);

struct loop *loop_create(void);
/* Frees the loop and every timer still in it. Does not close watched fds. */
void loop_destroy(struct loop *loop);

/* Watches `fd` for `events`. Returns 0, or -1 with errno set. A second call for
 * the same fd replaces events, callback and data. */
int loop_watch_fd(struct loop *loop, int fd, unsigned events, loop_fd_cb *cb, void *data);
/* Stops watching `fd`. Safe from within any callback, also for pending events
 * of the same iteration: they are not delivered. */
void loop_unwatch_fd(struct loop *loop, int fd);

/* Calls `cb` after `delay_ms`, then every `interval_ms` if it is > 0, until the
 * timer is cancelled. A one-shot timer (interval 0) is freed after its callback
 * returns; the handle must not be used after that. */
struct loop_timer *loop_add_timer(struct loop *loop, int64_t delay_ms, int64_t interval_ms,
                                  loop_timer_cb *cb, void *data);
/* Cancels and frees a timer. Safe from within its own callback. */
void loop_cancel_timer(struct loop *loop, struct loop_timer *timer);

/* Runs until loop_stop(). Returns 0, or -1 if epoll failed (logged). */
int loop_run(struct loop *loop);
/* Makes loop_run() return after the current callback. */
void loop_stop(struct loop *loop);
bool loop_is_running(const struct loop *loop);

/* Monotonic milliseconds, cached per iteration. */
int64_t loop_now_ms(const struct loop *loop);
/* Monotonic milliseconds, read now. */
int64_t monotonic_ms(void);

#endif
