/* Where the redact scanner looks: 64 bytes at a time, the positions at
 * which a built-in detector may start. Most of a log line starts none, and
 * the scalar detectors (redact_scan.c) run only at these positions:
 *   four digits, then four more, or a space or   a card (every card starts
 *   dash (or other junk, below) and four more    with four digits and four
 *                                                more, or a group of four
 *                                                and one of four or six)
 *   two capitals, then two digits                an IBAN
 *   four capitals, the first and last A or E     AKIA, ASIA: an AWS key id
 *   e or E, then t, n or y in any case, then a   a JWT ('{"' and '{ ' are
 *   capital                                      "eyJ" and "eyA" in base64url)
 *   five dashes                                  -----BEGIN of a PEM block
 *   be, ba in any case                           bearer, basic
 *   the byte before '=' or ':' when the key      a key and its value: every
 *   may end there: rd, wd, se, et, en or ey in   key that names a secret in
 *   any case (or the last of those after '_',    text ends so (password,
 *   '-' or '.'), then up to two quotes, blanks,  passwd, pwd, passphrase,
 *   '\', '_', '-' or '.' (more: looked at)       secret, token, apikey, ...)
 *   the byte before ":/"                         a URL's password (://)
 *   the first byte of a replacement              one already there, to be kept
 * The test is loose and cheap; the detectors decide. An anchor that is too
 * loose costs a look; one that is too tight would miss a secret, so each is
 * a condition every match of its detector meets.
 *
 * The bytes are classified by one of several implementations, chosen once
 * from the CPU, giving the same classes (redact_classify.c): on x86-64
 * AVX2, else SSSE3 (both look classes up in nibble tables with a byte
 * shuffle), else SSE2 (compares); on arm64 NEON (the same tables); on any
 * other target the portable one (the same tables in plain C). */
#ifndef SKIFF_REDACT_ANCHOR_H
#define SKIFF_REDACT_ANCHOR_H

#include <stdbool.h>
#include <stdint.h>

/* The classes of byte the anchors are made of. */
enum redact_class {
    RC_DIGIT,     /* 0-9 */
    RC_UPPER,     /* A-Z */
    RC_END_D,     /* d D: the last letter of password, passwd, pwd */
    RC_END_E,     /* e E: of passphrase; before the t, n, y of secret, token, key */
    RC_END_TNY,   /* t n y, either case */
    RC_PRE_WR,    /* w r, either case: before the d of passwd, password */
    RC_PRE_S,     /* s S: before the e of passphrase */
    RC_SEPARATOR, /* = : */
    RC_KEY_JUNK,  /* " ' blank tab \ _ - . (between a key's last letter and '=') */
    RC_KEY_INNER, /* _ - . (left out of a key's name: api_key is apikey) */
    RC_DASH,      /* - */
    RC_B,         /* b B */
    RC_E_OR_A,    /* e a E A */
    RC_SLASH,     /* / */
    RC_MARKER,    /* the first byte of every replacement */
    RC_COUNT
};

/* One bit per byte of 64 for each class. */
struct redact_anchor_classes {
    uint64_t m[RC_COUNT];
};

enum redact_anchor_impl {
    REDACT_ANCHOR_PORTABLE,
    REDACT_ANCHOR_SSE2,
    REDACT_ANCHOR_SSSE3,
    REDACT_ANCHOR_AVX2,
    REDACT_ANCHOR_NEON,
    REDACT_ANCHOR_IMPL_COUNT
};

struct redact_anchor_set;
/* The anchors of p[0..64): see redact_anchor_find. */
typedef uint64_t redact_anchor_fn(const struct redact_anchor_set *set, const char *p);

/* Which anchors to look for: all ones for those wanted, 0 for the others. */
struct redact_anchor_set {
    uint64_t card, iban, aws, jwt, pem, bearer, keys, marker;
    uint8_t marker_byte; /* what every replacement starts with */
    redact_anchor_fn *find;
};

/* Bytes classified at a time. An anchor is known from the bytes up to
 * REDACT_ANCHOR_AHEAD after it, so 64 bytes yield the anchors of their
 * first REDACT_ANCHOR_STEP (of all 64 when the text ends with them). */
#define REDACT_ANCHOR_SPAN 64
#define REDACT_ANCHOR_AHEAD 8
#define REDACT_ANCHOR_STEP (REDACT_ANCHOR_SPAN - REDACT_ANCHOR_AHEAD)
#define REDACT_ANCHOR_STEP_MASK ((1ull << REDACT_ANCHOR_STEP) - 1)

/* "portable", "sse2", "ssse3", "avx2", "neon". */
const char *redact_anchor_impl_name(enum redact_anchor_impl impl);
/* Whether this build and CPU can run `impl`. */
bool redact_anchor_impl_available(enum redact_anchor_impl impl);
/* The best implementation available: AVX2, SSSE3 or SSE2 on x86-64, as
 * far as the CPU goes; NEON on arm64; else portable. */
enum redact_anchor_impl redact_anchor_impl_best(void);
/* Makes scanners prepared from now on use `impl` (tests and benchmarks);
 * -1 when it is not available. */
int redact_anchor_impl_force(enum redact_anchor_impl impl);
/* The implementation scanners prepared now use. */
enum redact_anchor_impl redact_anchor_impl_current(void);
/* Sets set->find to the current implementation. */
void redact_anchor_set_impl(struct redact_anchor_set *set);

/* Bit k set: an anchor at byte k of p[0..64), read as if the text went on
 * with NULs after them (so bits from REDACT_ANCHOR_STEP on hold only when
 * it does end there). */
static inline uint64_t redact_anchor_find(const struct redact_anchor_set *set, const char *p)
{
    return set->find(set, p);
}

/* For redact_anchor.c, from redact_classify.c: whether `impl` is in this
 * build (not whether the CPU runs it), and its find function. */
bool redact_classify_built(enum redact_anchor_impl impl);
redact_anchor_fn *redact_classify_find_fn(enum redact_anchor_impl impl);

/* The classes of p[0..64) by `impl` (for tests). */
void redact_anchor_classify(enum redact_anchor_impl impl, const struct redact_anchor_set *set,
                            const char *p, struct redact_anchor_classes *classes);
/* Whether byte `c` is in class `cls`: the reference the implementations
 * are tested against. */
bool redact_class_has(const struct redact_anchor_set *set, enum redact_class cls, unsigned char c);

#endif
