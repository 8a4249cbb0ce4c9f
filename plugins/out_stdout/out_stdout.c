/* Output `stdout`: writes records to standard output as JSON lines. When
 * stdout is a pipe or terminal, skiff opens its own non-blocking descriptor for
 * it (through /proc/self/fd/1), so a slow reader pauses the inputs instead of
 * stalling the output thread, and the shell's descriptor keeps its flags. */
#include "line_writer.h"
#include "log.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct stdout_state {
    int fd;
    bool own_fd;
    struct line_writer writer;
};

static const struct option_spec stdout_options_table[] = {
    {0},
};

/* A regular file never blocks; a pipe, FIFO or terminal gets a descriptor of
 * its own in non-blocking mode. A socket cannot be reopened and stays as is. */
static int stdout_open(bool *own_fd)
{
    struct stat st;
    *own_fd = false;
    if (fstat(STDOUT_FILENO, &st) < 0)
        return -1;
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        int fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            *own_fd = true;
            return fd;
        }
    }
    return STDOUT_FILENO;
}

static int stdout_init(struct instance *out)
{
    struct stdout_state *state = xcalloc(1, sizeof *state);
    state->fd = stdout_open(&state->own_fd);
    if (state->fd < 0) {
        log_error(out->alias, "stdout: %s (is standard output closed?)", strerror(errno));
        free(state);
        return -1;
    }
    line_writer_init(&state->writer, out, state->fd, "stdout");
    out->state = state;
    return 0;
}

static void stdout_destroy(struct instance *out)
{
    struct stdout_state *state = out->state;
    if (!state)
        return;
    line_writer_release(&state->writer);
    if (state->own_fd)
        close(state->fd);
    free(state);
    out->state = NULL;
}

static void stdout_flush(struct instance *out, struct delivery *delivery)
{
    struct stdout_state *state = out->state;
    line_writer_flush(&state->writer, delivery);
}

const struct plugin out_stdout_plugin = {
    .name = "stdout",
    .kind = PLUGIN_OUTPUT,
    .description = "writes records to standard output as JSON lines",
    .options = stdout_options_table,
    .options_size = 0,
    .init = stdout_init,
    .destroy = stdout_destroy,
    .flush = stdout_flush,
};
