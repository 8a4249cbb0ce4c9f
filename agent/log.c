/* Diagnostics to stderr. Each line is formatted into one buffer and written
 * with a single write(2), so lines from the pipeline and output threads never
 * interleave mid-line. */
#include "log.h"

#include "buf.h"
#include "secret.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int current_level = LOG_INFO;

/* Error lines this thread logs between log_capture_start and log_capture_end,
 * as "component: message; ...", cut at its size. */
static _Thread_local struct {
    bool on;
    size_t len;
    char text[1024];
} capture;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
    atomic_store(&current_level, (int)level);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&current_level);
}

bool log_level_parse(const char *name, enum log_level *out)
{
    for (int i = LOG_ERROR; i <= LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

const char *log_level_name(enum log_level level)
{
    return level_names[level];
}

void log_capture_start(void)
{
    capture.on = true;
    capture.len = 0;
    capture.text[0] = '\0';
}

char *log_capture_end(void)
{
    capture.on = false;
    return capture.len ? strdup(capture.text) : NULL;
}

static void log_capture(const char *component, const char *message)
{
    size_t room = sizeof capture.text - capture.len;
    int n = snprintf(capture.text + capture.len, room, "%s%s: %s", capture.len ? "; " : "",
                     component, message);
    if (n > 0)
        capture.len += (size_t)n < room ? (size_t)n : room - 1;
}

void log_write(enum log_level level, const char *component, const char *fmt, ...)
{
    if ((int)level > atomic_load(&current_level))
        return;

    char line[4096];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t len = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    len += (size_t)snprintf(line + len, sizeof line - len, ".%03ldZ %-5s [%s] ",
                            now.tv_nsec / 1000000, level_names[level], component);

    /* Formatted whole, then masked, then cut: a secret that a cut would
     * split is still masked. */
    struct buf message = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&message, fmt, ap);
    va_end(ap);
    char *masked = secret_mask(buf_cstr(&message));
    int n = snprintf(line + len, sizeof line - len, "%s", masked ? masked : buf_cstr(&message));
    free(masked);
    buf_free(&message);
    if (n < 0)
        n = 0;
    if (capture.on && level == LOG_ERROR)
        log_capture(component, line + len);
    len += (size_t)n;
    if (len > sizeof line - 2) {
        /* Truncated: mark it so a reader knows the line was cut. */
        len = sizeof line - 5;
        memcpy(line + len, "...", 3);
        len += 3;
    }
    line[len++] = '\n';
    if (write(STDERR_FILENO, line, len) < 0) {
        /* stderr is gone; there is nowhere left to report it. */
    }
}
