/* skiff's own diagnostics: one line per event on stderr, with time, level,
 * component and message. Safe to call from any thread. Not for records: those
 * go through the pipeline. */
#ifndef SKIFF_LOG_H
#define SKIFF_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
bool log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

/* `component` names where the line comes from: "config", "pipeline",
 * "file.0", "http". */
void log_write(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Keeps the error lines this thread logs from now on, as well as writing
 * them, so that a caller can also report them elsewhere (a refused reload's
 * HTTP answer). log_capture_end returns them malloc'ed, "component: message;
 * ...", or NULL when there were none, and stops keeping them. */
void log_capture_start(void);
char *log_capture_end(void);

#define log_error(component, ...) log_write(LOG_ERROR, component, __VA_ARGS__)
#define log_warn(component, ...) log_write(LOG_WARN, component, __VA_ARGS__)
#define log_info(component, ...) log_write(LOG_INFO, component, __VA_ARGS__)
#define log_debug(component, ...)                                                                  \
    do {                                                                                           \
        if (log_get_level() >= LOG_DEBUG)                                                          \
            log_write(LOG_DEBUG, component, __VA_ARGS__);                                          \
    } while (0)

#endif
