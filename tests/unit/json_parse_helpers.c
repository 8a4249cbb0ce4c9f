/* Parsing helpers shared by the JSON parser's tests (json_parse_helpers.h). */
#include "json_parse_helpers.h"

#include "error_slot.h"
#include "suites.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

int parse_exact(const char *text, size_t len, struct value *out, char **error)
{
    char *copy = xmalloc(len);
    memcpy(copy, text, len);
    int rc = json_parse(copy, len, out, error);
    free(copy);
    return rc;
}

struct value parse_ok(const char *text)
{
    char *error = NULL;
    struct value v;
    int rc = parse_exact(text, strlen(text), &v, FRESH(error));
    ck_assert_msg(rc == 0, "%s: %s", text, error);
    free(error);
    return v;
}
