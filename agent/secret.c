/* The registry of secrets and their masking (see secret.h and plugin_api.h's
 * secret_register). A small list under a lock: secrets are registered at
 * start and when a file holding one is read again; masking runs per log
 * line, /readyz reason or dead-letter reason, never per record sent. Also
 * the reader of secret files the plugins share (secret_read_file). */
#include "secret.h"

#include "buf.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t secret_lock = PTHREAD_MUTEX_INITIALIZER;
static char *secrets[SECRET_MAX_COUNT];
static size_t secret_count;

/* Zeroes `len` bytes where the compiler cannot leave the stores out. */
static void wipe(char *p, size_t len)
{
    volatile char *v = p;
    while (len--)
        *v++ = '\0';
}

static void secret_forget(char *secret)
{
    wipe(secret, strlen(secret));
    free(secret);
}

void secret_register(const char *value)
{
    if (!value || !value[0])
        return;
    pthread_mutex_lock(&secret_lock);
    for (size_t i = 0; i < secret_count; i++) {
        if (strcmp(secrets[i], value) == 0) {
            pthread_mutex_unlock(&secret_lock);
            return;
        }
    }
    if (secret_count == SECRET_MAX_COUNT) {
        secret_forget(secrets[0]);
        memmove(secrets, secrets + 1, (SECRET_MAX_COUNT - 1) * sizeof *secrets);
        secret_count--;
    }
    secrets[secret_count++] = xstrdup(value);
    pthread_mutex_unlock(&secret_lock);
}

/* The registered secret that starts at `p` (the longest), or NULL. Called
 * with the lock held. */
static const char *secret_at(const char *p)
{
    const char *found = NULL;
    size_t found_len = 0;
    for (size_t i = 0; i < secret_count; i++) {
        size_t len = strlen(secrets[i]);
        if (len > found_len && strncmp(p, secrets[i], len) == 0) {
            found = secrets[i];
            found_len = len;
        }
    }
    return found;
}

static bool holds_secret(const char *text)
{
    for (size_t i = 0; i < secret_count; i++)
        if (strstr(text, secrets[i]))
            return true;
    return false;
}

char *secret_mask(const char *text)
{
    pthread_mutex_lock(&secret_lock);
    if (secret_count == 0 || !holds_secret(text)) {
        pthread_mutex_unlock(&secret_lock);
        return NULL;
    }
    struct buf out = BUF_INIT;
    for (const char *p = text; *p;) {
        const char *secret = secret_at(p);
        if (secret) {
            buf_append_str(&out, SECRET_MASK);
            p += strlen(secret);
        } else {
            buf_append_byte(&out, *p++);
        }
    }
    pthread_mutex_unlock(&secret_lock);
    return (char *)buf_cstr(&out);
}

void secret_mask_in_place(char *text, size_t size)
{
    char *masked = secret_mask(text);
    if (!masked)
        return;
    snprintf(text, size, "%s", masked);
    free(masked);
}

void secrets_free(void)
{
    pthread_mutex_lock(&secret_lock);
    for (size_t i = 0; i < secret_count; i++)
        secret_forget(secrets[i]);
    secret_count = 0;
    pthread_mutex_unlock(&secret_lock);
}

void secret_free(char *secret)
{
    if (secret)
        secret_forget(secret);
}

enum { LINE_TOO_LONG = -1, LINE_UNREADABLE = -2 };

/* The first line of `f` into line[SECRET_FILE_LINE_MAX + 2]: its length
 * without the line end and trailing blanks, or LINE_TOO_LONG, or
 * LINE_UNREADABLE (errno set: a directory, an I/O error). */
static long first_line(FILE *f, char *line)
{
    line[0] = '\0';
    if (!fgets(line, SECRET_FILE_LINE_MAX + 2, f) && ferror(f))
        return LINE_UNREADABLE;
    size_t len = strcspn(line, "\r\n");
    if (len > SECRET_FILE_LINE_MAX)
        return LINE_TOO_LONG;
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    return (long)len;
}

char *secret_read_file(const char *path, char **error)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        *error = xasprintf("%s: %s", path, strerror(errno));
        return NULL;
    }
    char line[SECRET_FILE_LINE_MAX + 2];
    long len = first_line(f, line);
    int read_errno = errno;
    fclose(f);
    char *secret = len > 0 ? xstrndup(line, (size_t)len) : NULL;
    wipe(line, sizeof line);
    if (len == LINE_UNREADABLE)
        *error = xasprintf("%s: %s", path, strerror(read_errno));
    else if (len == LINE_TOO_LONG)
        *error = xasprintf("%s: the first line is longer than %d bytes (expected the secret on "
                           "it)",
                           path, SECRET_FILE_LINE_MAX);
    else if (len == 0)
        *error = xasprintf("%s: the file is empty (expected the secret on its first line)", path);
    else
        secret_register(secret);
    return secret;
}
