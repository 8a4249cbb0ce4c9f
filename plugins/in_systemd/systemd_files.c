/* The journal files the systemd input reads, each checked once (systemd.h).
 * sd-journal skips a file it cannot open (damaged, truncated, or written
 * with features this libsystemd does not know) without telling its caller,
 * so each file is also opened alone with sd_journal_open_files(3): one that
 * fails is logged with the call's error and counted, once per file. The
 * folders are those sd-journal reads (add_directory() in sd-journal.c): with
 * `path`, that folder and its subfolders named by a machine id; without,
 * /run/log/journal's and this machine's folder of /var/log/journal
 * (SD_JOURNAL_LOCAL_ONLY). Checked at start, when sd_journal_process(3)
 * reports files added or removed, and at most every 2 s while the journal
 * changes (a file sd-journal could not open changes nothing it reports). */
#include "systemd.h"

#include "log.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-id128.h>

struct journal_file {
    struct hmap_node node;
    char *path;
    bool seen; /* found by the scan under way */
};

static bool file_is_journal(const char *name)
{
    size_t len = strlen(name);
    return (len > 8 && strcmp(name + len - 8, ".journal") == 0) ||
           (len > 9 && strcmp(name + len - 9, ".journal~") == 0);
}

/* A 128-bit id as sd-journal takes a folder name (id128_is_valid): 32 hex
 * digits, or the 36-character UUID form, in either case; written to `out`
 * as 32 lower-case digits. A folder with a ".namespace" suffix is not read
 * without a namespace asked for, so it is no id here. */
static bool name_to_id128(const char *name, char out[33])
{
    size_t len = strlen(name), n = 0;
    if (len != 32 && len != 36)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (c != '-')
                return false;
            continue;
        }
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

static struct journal_file *files_find(struct systemd_input *s, const char *path, uint64_t hash)
{
    for (struct hmap_node *n = hmap_find(&s->files, hash); n; n = hmap_find_next(n)) {
        struct journal_file *f = hmap_entry(n, struct journal_file, node);
        if (strcmp(f->path, path) == 0)
            return f;
    }
    return NULL;
}

static void file_check(struct systemd_input *s, const char *path)
{
    sd_journal *alone = NULL;
    const char *paths[] = {path, NULL};
    int r = sd_journal_open_files(&alone, paths, 0);
    if (r >= 0) {
        sd_journal_close(alone);
        return;
    }
    metric_add(s->metrics.files_skipped, 1);
    log_warn(s->in->alias,
             "%s: sd_journal_open_files: %s; libsystemd skips this file and the others are read "
             "(a damaged or truncated file, or one written by a newer systemd than this build's "
             "libsystemd: see the README, \"Journald\")",
             path, strerror(-r));
}

static void files_note(struct systemd_input *s, const char *path)
{
    uint64_t hash = hash_bytes(path, strlen(path));
    struct journal_file *f = files_find(s, path, hash);
    if (!f) {
        f = xcalloc(1, sizeof *f);
        f->path = xstrdup(path);
        hmap_insert(&s->files, &f->node, hash);
        file_check(s, path);
    }
    f->seen = true;
}

/* The journal files in `folder`, and with `subfolders` those in its
 * subfolders named by a 128-bit id (only `machine`'s when it is not NULL). */
static void files_scan(struct systemd_input *s, const char *folder, bool subfolders,
                       const char *machine)
{
    DIR *dir = opendir(folder);
    if (!dir)
        return; /* a missing folder: sd-journal reads none either */
    struct dirent *de;
    char id[33];
    while ((de = readdir(dir))) {
        char *path = xasprintf("%s/%s", folder, de->d_name);
        if (file_is_journal(de->d_name))
            files_note(s, path);
        else if (subfolders && name_to_id128(de->d_name, id) &&
                 (!machine || strcmp(machine, id) == 0))
            files_scan(s, path, false, NULL);
        free(path);
    }
    closedir(dir);
}

static void files_forget_unseen(struct systemd_input *s)
{
    size_t bucket = 0;
    struct hmap_node *n = hmap_next(&s->files, &bucket, NULL);
    while (n) {
        struct hmap_node *next = hmap_next(&s->files, &bucket, n);
        struct journal_file *f = hmap_entry(n, struct journal_file, node);
        if (!f->seen) {
            hmap_remove(&s->files, n);
            free(f->path);
            free(f);
        } else {
            f->seen = false;
        }
        n = next;
    }
}

void systemd_files_check(struct systemd_input *s)
{
    if (s->opts->path && *s->opts->path) {
        files_scan(s, s->opts->path, true, NULL);
    } else {
        /* SD_JOURNAL_LOCAL_ONLY: what is under /run is this machine's; under
         * /var, only the folder of this machine's id (none without one). */
        sd_id128_t id;
        char machine[SD_ID128_STRING_MAX];
        if (sd_id128_get_machine(&id) >= 0)
            sd_id128_to_string(id, machine);
        else
            strcpy(machine, "-");
        files_scan(s, "/run/log/journal", true, NULL);
        files_scan(s, "/var/log/journal", true, machine);
    }
    files_forget_unseen(s);
}

void systemd_files_free(struct systemd_input *s)
{
    size_t bucket = 0;
    struct hmap_node *n = hmap_next(&s->files, &bucket, NULL);
    while (n) {
        struct hmap_node *next = hmap_next(&s->files, &bucket, n);
        struct journal_file *f = hmap_entry(n, struct journal_file, node);
        free(f->path);
        free(f);
        n = next;
    }
    hmap_free(&s->files);
}
