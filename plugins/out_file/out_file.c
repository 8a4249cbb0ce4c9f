/* Output `file`: appends records as JSON lines to a file. The file is opened
 * once at start with O_APPEND, so several writers and `tail -f` work; it is
 * created (mode 0640) if missing. */
#include "line_writer.h"
#include "log.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct file_options {
    char *path;
};

struct file_state {
    int fd;
    struct line_writer writer;
};

static const struct option_spec file_options_table[] = {
    {.name = "path",
     .type = OPT_STRING,
     .required = true,
     .offset = offsetof(struct file_options, path),
     .description = "file to append JSON lines to; created if missing"},
    {0},
};

static int file_init(struct instance *out)
{
    const struct file_options *opts = out->options;
    int fd = open(opts->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0640);
    if (fd < 0) {
        log_error(out->alias, "%s: open: %s (check that the folder exists and is writable)",
                  opts->path, strerror(errno));
        return -1;
    }
    struct file_state *state = xcalloc(1, sizeof *state);
    state->fd = fd;
    line_writer_init(&state->writer, out, fd, opts->path);
    out->state = state;
    return 0;
}

static void file_destroy(struct instance *out)
{
    struct file_state *state = out->state;
    if (!state)
        return;
    line_writer_release(&state->writer);
    close(state->fd);
    free(state);
    out->state = NULL;
}

static void file_flush(struct instance *out, struct delivery *delivery)
{
    struct file_state *state = out->state;
    line_writer_flush(&state->writer, delivery);
}

const struct plugin out_file_plugin = {
    .name = "file",
    .kind = PLUGIN_OUTPUT,
    .description = "appends records to a file as JSON lines",
    .options = file_options_table,
    .options_size = sizeof(struct file_options),
    .init = file_init,
    .destroy = file_destroy,
    .flush = file_flush,
};
