/* The redact scanner's anchors (see redact_anchor.h): the reference of the
 * byte classes, and the choice of the implementation that classifies
 * (redact_classify.c) from the CPU. */
#include "redact_anchor.h"

#include <string.h>

bool redact_class_has(const struct redact_anchor_set *set, enum redact_class cls, unsigned char c)
{
    unsigned char lower = (unsigned char)(c | 0x20);
    bool letter = lower >= 'a' && lower <= 'z';
    switch (cls) {
    case RC_DIGIT:
        return c >= '0' && c <= '9';
    case RC_UPPER:
        return c >= 'A' && c <= 'Z';
    case RC_END_D:
        return lower == 'd';
    case RC_END_E:
        return lower == 'e';
    case RC_END_TNY:
        return letter && strchr("tny", lower) != NULL;
    case RC_PRE_WR:
        return lower == 'w' || lower == 'r';
    case RC_PRE_S:
        return lower == 's';
    case RC_SEPARATOR:
        return c == '=' || c == ':';
    case RC_KEY_JUNK:
        return c && strchr("\"' \t\\_-.", c) != NULL;
    case RC_KEY_INNER:
        return c == '_' || c == '-' || c == '.';
    case RC_DASH:
        return c == '-';
    case RC_B:
        return lower == 'b';
    case RC_E_OR_A:
        return lower == 'e' || lower == 'a';
    case RC_SLASH:
        return c == '/';
    case RC_MARKER:
        return c == set->marker_byte;
    default:
        return false;
    }
}

static const char *const impl_names[] = {
    [REDACT_ANCHOR_PORTABLE] = "portable", [REDACT_ANCHOR_SSE2] = "sse2",
    [REDACT_ANCHOR_SSSE3] = "ssse3",       [REDACT_ANCHOR_AVX2] = "avx2",
    [REDACT_ANCHOR_NEON] = "neon",
};

const char *redact_anchor_impl_name(enum redact_anchor_impl impl)
{
    return impl < REDACT_ANCHOR_IMPL_COUNT ? impl_names[impl] : "?";
}

bool redact_anchor_impl_available(enum redact_anchor_impl impl)
{
    if (impl >= REDACT_ANCHOR_IMPL_COUNT || !redact_classify_built(impl))
        return false;
#if defined(__x86_64__) && defined(__GNUC__)
    if (impl == REDACT_ANCHOR_AVX2)
        return __builtin_cpu_supports("avx2");
    if (impl == REDACT_ANCHOR_SSSE3)
        return __builtin_cpu_supports("ssse3");
#endif
    return true;
}

enum redact_anchor_impl redact_anchor_impl_best(void)
{
    static const enum redact_anchor_impl preferred[] = {REDACT_ANCHOR_AVX2, REDACT_ANCHOR_SSSE3,
                                                        REDACT_ANCHOR_SSE2, REDACT_ANCHOR_NEON};
    for (size_t i = 0; i < sizeof preferred / sizeof preferred[0]; i++)
        if (redact_anchor_impl_available(preferred[i]))
            return preferred[i];
    return REDACT_ANCHOR_PORTABLE;
}

/* -1: not chosen yet (the best, on first use). Set on the pipeline thread
 * when filters start, or by a test before. */
static int current_impl = -1;

int redact_anchor_impl_force(enum redact_anchor_impl impl)
{
    if (!redact_anchor_impl_available(impl))
        return -1;
    current_impl = (int)impl;
    return 0;
}

enum redact_anchor_impl redact_anchor_impl_current(void)
{
    if (current_impl < 0)
        current_impl = (int)redact_anchor_impl_best();
    return (enum redact_anchor_impl)current_impl;
}

void redact_anchor_set_impl(struct redact_anchor_set *set)
{
    set->find = redact_classify_find_fn(redact_anchor_impl_current());
}
