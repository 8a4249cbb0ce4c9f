/* Unit tests for the event loop: timer order and cancellation, fd events, and
 * the guarantees callbacks rely on when they change registrations mid-iteration.
 * Every run is bounded by a safety timer. */
#include "suites.h"

#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static struct loop *loop;

static void setup(void)
{
    loop = loop_create();
    ck_assert_ptr_nonnull(loop);
}

static void teardown(void)
{
    loop_destroy(loop);
}

static void on_safety_deadline(struct loop *l, struct loop_timer *timer, void *data)
{
    (void)timer;
    *(bool *)data = true;
    loop_stop(l);
}

/* Runs the loop until a callback stops it; fails if that takes over 2 s. */
static void run_bounded(void)
{
    bool expired = false;
    struct loop_timer *deadline = loop_add_timer(loop, 2000, 0, on_safety_deadline, &expired);
    ck_assert_int_eq(loop_run(loop), 0);
    ck_assert_msg(!expired, "the loop did not stop within 2 s");
    loop_cancel_timer(loop, deadline);
}

static void on_stop(struct loop *l, struct loop_timer *timer, void *data)
{
    (void)timer;
    (void)data;
    loop_stop(l);
}

static void make_readable_pipe(int fds[2])
{
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], "x", 1), 1);
}

static void close_pipe(int fds[2])
{
    close(fds[0]);
    close(fds[1]);
}

/* ---- timers ---- */

struct fire_log {
    int order[8];
    int count;
    int stop_after;
};

struct fire_entry {
    struct fire_log *log;
    int id;
};

static void on_record_fire(struct loop *l, struct loop_timer *timer, void *data)
{
    (void)timer;
    struct fire_entry *entry = data;
    entry->log->order[entry->log->count++] = entry->id;
    if (entry->log->count == entry->log->stop_after)
        loop_stop(l);
}

START_TEST(timers_fire_in_deadline_order)
{
    struct fire_log log = {.stop_after = 4};
    struct fire_entry entries[4] = {{&log, 0}, {&log, 1}, {&log, 2}, {&log, 3}};
    loop_add_timer(loop, 60, 0, on_record_fire, &entries[0]);
    loop_add_timer(loop, 20, 0, on_record_fire, &entries[1]);
    loop_add_timer(loop, 40, 0, on_record_fire, &entries[2]);
    loop_add_timer(loop, 0, 0, on_record_fire, &entries[3]);
    run_bounded();
    ck_assert_int_eq(log.count, 4);
    ck_assert_int_eq(log.order[0], 3);
    ck_assert_int_eq(log.order[1], 1);
    ck_assert_int_eq(log.order[2], 2);
    ck_assert_int_eq(log.order[3], 0);
}
END_TEST

START_TEST(equal_deadlines_fire_in_creation_order)
{
    struct fire_log log = {.stop_after = 5};
    struct fire_entry entries[5];
    for (int i = 0; i < 5; i++) {
        entries[i] = (struct fire_entry){&log, i};
        loop_add_timer(loop, 10, 0, on_record_fire, &entries[i]);
    }
    run_bounded();
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(log.order[i], i);
}
END_TEST

struct repeat_state {
    int fired;
    int64_t first_ms;
    int64_t last_ms;
};

static void on_repeat(struct loop *l, struct loop_timer *timer, void *data)
{
    struct repeat_state *state = data;
    if (state->fired++ == 0)
        state->first_ms = monotonic_ms();
    state->last_ms = monotonic_ms();
    if (state->fired == 3)
        loop_cancel_timer(l, timer);
}

START_TEST(repeating_timer_fires_until_it_cancels_itself)
{
    struct repeat_state state = {0};
    loop_add_timer(loop, 5, 10, on_repeat, &state);
    loop_add_timer(loop, 150, 0, on_stop, NULL);
    run_bounded();
    ck_assert_int_eq(state.fired, 3);
    ck_assert_int_ge(state.last_ms - state.first_ms, 20);
}
END_TEST

static void on_set_flag(struct loop *l, struct loop_timer *timer, void *data)
{
    (void)l;
    (void)timer;
    *(bool *)data = true;
}

START_TEST(cancelled_timer_never_fires)
{
    bool fired = false;
    struct loop_timer *timer = loop_add_timer(loop, 10, 0, on_set_flag, &fired);
    loop_add_timer(loop, 40, 0, on_stop, NULL);
    loop_cancel_timer(loop, timer);
    run_bounded();
    ck_assert(!fired);
}
END_TEST

static void on_cancel_self(struct loop *l, struct loop_timer *timer, void *data)
{
    ++*(int *)data;
    loop_cancel_timer(l, timer);
}

START_TEST(one_shot_timer_may_cancel_itself)
{
    int fired = 0;
    loop_add_timer(loop, 0, 0, on_cancel_self, &fired);
    loop_add_timer(loop, 30, 0, on_stop, NULL);
    run_bounded();
    ck_assert_int_eq(fired, 1);
}
END_TEST

struct canceller {
    struct loop_timer *victim;
    int fired;
};

static void on_cancel_victim(struct loop *l, struct loop_timer *timer, void *data)
{
    (void)timer;
    struct canceller *c = data;
    c->fired++;
    loop_cancel_timer(l, c->victim);
}

START_TEST(timer_may_cancel_another_due_timer)
{
    bool victim_fired = false;
    struct canceller c = {0};
    loop_add_timer(loop, 10, 0, on_cancel_victim, &c);
    c.victim = loop_add_timer(loop, 10, 0, on_set_flag, &victim_fired);
    loop_add_timer(loop, 40, 0, on_stop, NULL);
    run_bounded();
    ck_assert_int_eq(c.fired, 1);
    ck_assert(!victim_fired);
}
END_TEST

/* A timer that keeps re-adding itself with delay 0 runs once per iteration, so
 * an fd that becomes ready meanwhile is still served. */
struct rearm_state {
    int timer_runs;
    int pipe_fds[2];
    bool fd_seen;
};

static void on_rearm(struct loop *l, struct loop_timer *timer, void *data)
{
    (void)timer;
    struct rearm_state *state = data;
    if (++state->timer_runs == 3)
        ck_assert_int_eq(write(state->pipe_fds[1], "x", 1), 1);
    loop_add_timer(l, 0, 0, on_rearm, state);
}

static void on_fd_stop(struct loop *l, int fd, unsigned events, void *data)
{
    (void)fd;
    (void)events;
    *(bool *)data = true;
    loop_stop(l);
}

START_TEST(zero_delay_timer_added_by_a_timer_waits_for_next_iteration)
{
    struct rearm_state state = {0};
    ck_assert_int_eq(pipe(state.pipe_fds), 0);
    ck_assert_int_eq(
        loop_watch_fd(loop, state.pipe_fds[0], LOOP_READABLE, on_fd_stop, &state.fd_seen), 0);
    loop_add_timer(loop, 0, 0, on_rearm, &state);
    run_bounded();
    ck_assert(state.fd_seen);
    ck_assert_int_eq(state.timer_runs, 3);
    close_pipe(state.pipe_fds);
}
END_TEST

struct now_probe {
    int64_t before;
    int64_t after;
    int64_t real;
};

static void on_probe_now(struct loop *l, struct loop_timer *timer, void *data)
{
    (void)timer;
    struct now_probe *probe = data;
    probe->before = loop_now_ms(l);
    nanosleep(&(struct timespec){.tv_nsec = 15 * 1000000}, NULL);
    probe->after = loop_now_ms(l);
    probe->real = monotonic_ms();
    loop_stop(l);
}

START_TEST(now_is_cached_per_iteration)
{
    struct now_probe probe = {0};
    int64_t start = monotonic_ms();
    loop_add_timer(loop, 5, 0, on_probe_now, &probe);
    run_bounded();
    ck_assert_int_eq(probe.before, probe.after);
    ck_assert_int_ge(probe.before, start + 5);
    ck_assert_int_ge(probe.real, probe.before + 15);
}
END_TEST

static void on_check_running(struct loop *l, struct loop_timer *timer, void *data)
{
    (void)timer;
    bool *seen = data;
    seen[0] = loop_is_running(l);
    loop_stop(l);
    seen[1] = loop_is_running(l);
}

START_TEST(stop_makes_run_return)
{
    bool seen[2] = {false, true};
    ck_assert(!loop_is_running(loop));
    loop_add_timer(loop, 0, 0, on_check_running, seen);
    run_bounded();
    ck_assert(seen[0]);
    ck_assert(!seen[1]);
    ck_assert(!loop_is_running(loop));
}
END_TEST

START_TEST(destroy_frees_pending_timers)
{
    loop_add_timer(loop, 1000, 0, on_stop, NULL);
    loop_add_timer(loop, 2000, 500, on_stop, NULL);
    /* teardown destroys the loop; the leak checker verifies both are freed. */
}
END_TEST

/* ---- file events ---- */

struct fd_seen {
    int calls;
    unsigned events;
};

static void on_fd_record(struct loop *l, int fd, unsigned events, void *data)
{
    (void)fd;
    struct fd_seen *seen = data;
    seen->calls++;
    seen->events = events;
    loop_stop(l);
}

START_TEST(pipe_readable)
{
    int fds[2];
    struct fd_seen seen = {0};
    make_readable_pipe(fds);
    ck_assert_int_eq(loop_watch_fd(loop, fds[0], LOOP_READABLE, on_fd_record, &seen), 0);
    run_bounded();
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_uint_eq(seen.events, LOOP_READABLE);
    close_pipe(fds);
}
END_TEST

START_TEST(eventfd_writable_only_when_asked)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct fd_seen seen = {0};
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(loop_watch_fd(loop, fd, LOOP_WRITABLE, on_fd_record, &seen), 0);
    run_bounded();
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_uint_eq(seen.events, LOOP_WRITABLE);
    close(fd);
}
END_TEST

START_TEST(hangup_reported_as_both)
{
    int fds[2];
    struct fd_seen seen = {0};
    ck_assert_int_eq(pipe(fds), 0);
    close(fds[1]);
    ck_assert_int_eq(loop_watch_fd(loop, fds[0], LOOP_READABLE, on_fd_record, &seen), 0);
    run_bounded();
    ck_assert_uint_eq(seen.events, LOOP_READABLE | LOOP_WRITABLE);
    close(fds[0]);
}
END_TEST

START_TEST(second_watch_replaces_callback_and_events)
{
    int fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    struct fd_seen old = {0}, replaced = {0};
    ck_assert_int_eq(loop_watch_fd(loop, fd, LOOP_WRITABLE, on_fd_record, &old), 0);
    ck_assert_int_eq(loop_watch_fd(loop, fd, LOOP_READABLE, on_fd_record, &replaced), 0);
    run_bounded();
    ck_assert_int_eq(old.calls, 0);
    ck_assert_int_eq(replaced.calls, 1);
    ck_assert_uint_eq(replaced.events, LOOP_READABLE);
    close(fd);
}
END_TEST

START_TEST(high_fd_numbers_grow_the_table)
{
    int fds[2];
    struct fd_seen seen = {0};
    make_readable_pipe(fds);
    int high = dup2(fds[0], 700);
    ck_assert_int_eq(high, 700);
    ck_assert_int_eq(loop_watch_fd(loop, high, LOOP_READABLE, on_fd_record, &seen), 0);
    run_bounded();
    ck_assert_int_eq(seen.calls, 1);
    close(high);
    close_pipe(fds);
}
END_TEST

START_TEST(watching_a_regular_file_fails_with_errno)
{
    FILE *file = tmpfile();
    ck_assert_ptr_nonnull(file);
    ck_assert_int_eq(loop_watch_fd(loop, fileno(file), LOOP_READABLE, on_fd_record, NULL), -1);
    ck_assert_int_eq(errno, EPERM);
    fclose(file);
}
END_TEST

/* Two pipes are readable at once; whichever callback runs first unwatches the
 * other, whose event from the same epoll_wait must then be dropped. */
struct pair {
    int read_fd[2];
    int calls;
};

static void on_unwatch_other(struct loop *l, int fd, unsigned events, void *data)
{
    (void)events;
    struct pair *pair = data;
    pair->calls++;
    loop_unwatch_fd(l, fd == pair->read_fd[0] ? pair->read_fd[1] : pair->read_fd[0]);
    loop_add_timer(l, 30, 0, on_stop, NULL);
    loop_unwatch_fd(l, fd);
}

START_TEST(unwatch_drops_pending_event_of_same_iteration)
{
    int a[2], b[2];
    struct pair pair = {0};
    make_readable_pipe(a);
    make_readable_pipe(b);
    pair.read_fd[0] = a[0];
    pair.read_fd[1] = b[0];
    ck_assert_int_eq(loop_watch_fd(loop, a[0], LOOP_READABLE, on_unwatch_other, &pair), 0);
    ck_assert_int_eq(loop_watch_fd(loop, b[0], LOOP_READABLE, on_unwatch_other, &pair), 0);
    run_bounded();
    ck_assert_int_eq(pair.calls, 1);
    close_pipe(a);
    close_pipe(b);
}
END_TEST

/* As above, but the other fd is drained and re-watched with a new callback: the
 * stale readable event must not reach it, and nothing new arrives later. */
struct rewatch {
    int read_fd[2];
    int first_calls;
    int new_calls;
};

static void on_rewatched(struct loop *l, int fd, unsigned events, void *data)
{
    (void)l;
    (void)fd;
    (void)events;
    ((struct rewatch *)data)->new_calls++;
}

static void on_rewatch_other(struct loop *l, int fd, unsigned events, void *data)
{
    (void)events;
    struct rewatch *r = data;
    char byte;
    int other = fd == r->read_fd[0] ? r->read_fd[1] : r->read_fd[0];
    r->first_calls++;
    ck_assert_int_eq(read(other, &byte, 1), 1);
    loop_unwatch_fd(l, other);
    ck_assert_int_eq(loop_watch_fd(l, other, LOOP_READABLE, on_rewatched, r), 0);
    loop_unwatch_fd(l, fd);
    loop_add_timer(l, 30, 0, on_stop, NULL);
}

START_TEST(rewatched_fd_does_not_get_stale_event)
{
    int a[2], b[2];
    struct rewatch r = {0};
    make_readable_pipe(a);
    make_readable_pipe(b);
    r.read_fd[0] = a[0];
    r.read_fd[1] = b[0];
    ck_assert_int_eq(loop_watch_fd(loop, a[0], LOOP_READABLE, on_rewatch_other, &r), 0);
    ck_assert_int_eq(loop_watch_fd(loop, b[0], LOOP_READABLE, on_rewatch_other, &r), 0);
    run_bounded();
    ck_assert_int_eq(r.first_calls, 1);
    ck_assert_int_eq(r.new_calls, 0);
    close_pipe(a);
    close_pipe(b);
}
END_TEST

/* A callback replaces the other fd with a new pipe under the same number, with
 * no unwatch in between: the old event must not reach the new registration. */
struct reuse {
    int read_fd[2];
    int replacement[2];
    int calls;
    int new_calls;
};

static void on_count(struct loop *l, int fd, unsigned events, void *data)
{
    (void)l;
    (void)fd;
    (void)events;
    ++*(int *)data;
}

static void on_reuse_other(struct loop *l, int fd, unsigned events, void *data)
{
    (void)events;
    struct reuse *r = data;
    int other = fd == r->read_fd[0] ? r->read_fd[1] : r->read_fd[0];
    r->calls++;
    ck_assert_int_eq(pipe(r->replacement), 0);
    ck_assert_int_eq(dup2(r->replacement[0], other), other);
    close(r->replacement[0]);
    r->replacement[0] = other;
    ck_assert_int_eq(loop_watch_fd(l, other, LOOP_READABLE, on_count, &r->new_calls), 0);
    loop_unwatch_fd(l, fd);
    loop_add_timer(l, 30, 0, on_stop, NULL);
}

START_TEST(reused_fd_number_does_not_get_stale_event)
{
    int a[2], b[2];
    struct reuse r = {0};
    make_readable_pipe(a);
    make_readable_pipe(b);
    r.read_fd[0] = a[0];
    r.read_fd[1] = b[0];
    ck_assert_int_eq(loop_watch_fd(loop, a[0], LOOP_READABLE, on_reuse_other, &r), 0);
    ck_assert_int_eq(loop_watch_fd(loop, b[0], LOOP_READABLE, on_reuse_other, &r), 0);
    run_bounded();
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.new_calls, 0);
    close_pipe(a);
    close_pipe(b);
    close(r.replacement[1]);
}
END_TEST

START_TEST(unwatched_fd_gets_no_events)
{
    int fds[2];
    int calls = 0;
    make_readable_pipe(fds);
    ck_assert_int_eq(loop_watch_fd(loop, fds[0], LOOP_READABLE, on_count, &calls), 0);
    loop_unwatch_fd(loop, fds[0]);
    loop_add_timer(loop, 30, 0, on_stop, NULL);
    run_bounded();
    ck_assert_int_eq(calls, 0);
    close_pipe(fds);
}
END_TEST

Suite *loop_suite(void)
{
    Suite *suite = suite_create("loop");

    TCase *timers = tcase_create("timers");
    tcase_add_checked_fixture(timers, setup, teardown);
    tcase_add_test(timers, timers_fire_in_deadline_order);
    tcase_add_test(timers, equal_deadlines_fire_in_creation_order);
    tcase_add_test(timers, repeating_timer_fires_until_it_cancels_itself);
    tcase_add_test(timers, cancelled_timer_never_fires);
    tcase_add_test(timers, one_shot_timer_may_cancel_itself);
    tcase_add_test(timers, timer_may_cancel_another_due_timer);
    tcase_add_test(timers, zero_delay_timer_added_by_a_timer_waits_for_next_iteration);
    tcase_add_test(timers, now_is_cached_per_iteration);
    tcase_add_test(timers, stop_makes_run_return);
    tcase_add_test(timers, destroy_frees_pending_timers);
    suite_add_tcase(suite, timers);

    TCase *fds = tcase_create("fds");
    tcase_add_checked_fixture(fds, setup, teardown);
    tcase_add_test(fds, pipe_readable);
    tcase_add_test(fds, eventfd_writable_only_when_asked);
    tcase_add_test(fds, hangup_reported_as_both);
    tcase_add_test(fds, second_watch_replaces_callback_and_events);
    tcase_add_test(fds, high_fd_numbers_grow_the_table);
    tcase_add_test(fds, watching_a_regular_file_fails_with_errno);
    tcase_add_test(fds, unwatch_drops_pending_event_of_same_iteration);
    tcase_add_test(fds, rewatched_fd_does_not_get_stale_event);
    tcase_add_test(fds, reused_fd_number_does_not_get_stale_event);
    tcase_add_test(fds, unwatched_fd_gets_no_events);
    suite_add_tcase(suite, fds);

    return suite;
}
