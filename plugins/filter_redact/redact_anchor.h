/* Where the redact scanner looks: 64 bytes at a time, with the compiler's
 * vector types (SSE2 on x86-64, NEON on arm64), the positions at which a
 * built-in detector may start. Most of a log line starts none, and the
 * scalar detectors (redact_scan.c) run only at these positions:
 *   two digits or capitals, then two digits   a card (every card starts with
 *                                             four digits), an IBAN
 *   four capitals                             AKIA, ASIA: an AWS key id
 *   ey                                        a JWT ('{' is "ey" in base64url)
 *   --                                        -----BEGIN of a PEM block
 *   be, ba in any case                        bearer, basic
 *   a byte before '=' or ':'                  a key and its value, a URL's
 *                                             password (://)
 *   the first byte of a replacement           one already there, to be kept
 * The test is loose and cheap; the detectors decide. */
#ifndef SKIFF_REDACT_ANCHOR_H
#define SKIFF_REDACT_ANCHOR_H

#include <stdint.h>

/* Which anchors to look for: all ones for those wanted, 0 for the others. */
struct redact_anchor_set {
    uint64_t number, aws, jwt, pem, bearer, keys, marker;
    uint8_t marker_byte; /* what every replacement starts with */
};

/* One bit per byte of 64 for each class of byte the anchors are made of. */
struct redact_anchor_classes {
    uint64_t digit, upper, e, y, dash, b, e_or_a, separator, marker;
};

#define REDACT_ANCHOR_SPAN 64

/* Classifies p[0..64). */
void redact_anchor_classify(const struct redact_anchor_set *set, const char *p,
                            struct redact_anchor_classes *classes);
/* Bit k set: an anchor at byte k of the 64 classified in `now`; `next` is
 * the 64 bytes after them (all zero past the text). */
uint64_t redact_anchor_mask(const struct redact_anchor_set *set,
                            const struct redact_anchor_classes *now,
                            const struct redact_anchor_classes *next);

#endif
