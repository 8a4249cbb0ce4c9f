/* Unit tests for the secret file reader plugins share (agent/secret.c,
 * secret_read_file in plugin_api.h): the first line trimmed, registered for
 * masking, and errors that name the file and never its content. */
#include "suites.h"

#include "plugin_api.h"
#include "secret.h"
#include "temp_dir.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

static void setup(void)
{
    dir = temp_dir_make("secret");
}

static void teardown(void)
{
    temp_dir_remove(dir);
    secrets_free();
}

static char *write_file(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* The file's first line, or NULL; *error freed. */
static char *read_secret(const char *path, char **error)
{
    *error = NULL;
    return secret_read_file(path, error);
}

START_TEST(first_line_trimmed_and_masked)
{
    static const char *const files[] = {"s3cr3t-Value\n", "s3cr3t-Value", "s3cr3t-Value \t\r\n",
                                        "s3cr3t-Value\nsecond line\n"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *path = write_file("secret", files[i]), *error;
        char *secret = read_secret(path, &error);
        ck_assert_str_eq(secret, "s3cr3t-Value");
        ck_assert_ptr_null(error);
        secret_free(secret);
        free(path);
    }
    char *masked = secret_mask("answer: bad key s3cr3t-Value.");
    ck_assert_str_eq(masked, "answer: bad key ***.");
    free(masked);
    secret_free(NULL);
}
END_TEST

START_TEST(errors_name_the_file_not_the_content)
{
    char *error;
    char *missing = xasprintf("%s/none", dir);
    ck_assert_ptr_null(read_secret(missing, &error));
    ck_assert_ptr_nonnull(strstr(error, missing));
    ck_assert_ptr_nonnull(strstr(error, "No such file"));
    free(error);

    static const char *const empty_files[] = {"", "\n", "  \t\r\nsecond line\n"};
    for (size_t i = 0; i < sizeof empty_files / sizeof empty_files[0]; i++) {
        char *path = write_file("empty", empty_files[i]);
        ck_assert_ptr_null(read_secret(path, &error));
        ck_assert_ptr_nonnull(strstr(error, path));
        ck_assert_ptr_nonnull(strstr(error, "is empty"));
        ck_assert_ptr_null(strstr(error, "second"));
        free(error);
        free(path);
    }

    ck_assert_ptr_null(read_secret(dir, &error));
    ck_assert_ptr_nonnull(strstr(error, "Is a directory"));
    free(error);
    free(missing);
}
END_TEST

/* A first line longer than the reader takes is an error, not a secret cut
 * short (which would fail to authenticate with no word why). */
START_TEST(a_line_too_long_is_refused_whole)
{
    char text[SECRET_FILE_LINE_MAX + 3], *error;
    memset(text, 'k', SECRET_FILE_LINE_MAX);
    strcpy(text + SECRET_FILE_LINE_MAX, "\n");
    char *path = write_file("longest", text);
    char *secret = read_secret(path, &error);
    ck_assert_ptr_nonnull(secret);
    ck_assert_uint_eq(strlen(secret), SECRET_FILE_LINE_MAX);
    secret_free(secret);
    free(path);

    strcpy(text + SECRET_FILE_LINE_MAX, "k\n");
    path = write_file("too_long", text);
    ck_assert_ptr_null(read_secret(path, &error));
    ck_assert_ptr_nonnull(strstr(error, "longer than 4096 bytes"));
    ck_assert_ptr_null(strstr(error, "kkkk"));
    free(error);
    free(path);
}
END_TEST

Suite *secret_suite(void)
{
    Suite *s = suite_create("secret");
    TCase *tc = tcase_create("file");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, first_line_trimmed_and_masked);
    tcase_add_test(tc, errors_name_the_file_not_the_content);
    tcase_add_test(tc, a_line_too_long_is_refused_whole);
    suite_add_tcase(s, tc);
    return s;
}
