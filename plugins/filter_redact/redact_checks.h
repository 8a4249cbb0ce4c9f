/* The redact filter's checksums and shapes: what makes a digit run a payment
 * card number (the networks' number ranges and lengths, Luhn), a run of
 * letters and digits an IBAN (ISO 13616 lengths per country, mod 97), and a
 * dotted base64url text a JWT (its header decodes to JSON with "alg"). Pure
 * functions of their input; the scanner (redact_scan.c) finds the candidates. */
#ifndef SKIFF_REDACT_CHECKS_H
#define SKIFF_REDACT_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#define REDACT_CARD_MIN_DIGITS 13
#define REDACT_CARD_MAX_DIGITS 19

/* Whether `digits` (only '0'-'9', `len` of them) is a card number: a length
 * its network issues for its prefix (Visa, Mastercard, American Express,
 * Discover, Diners, JCB, UnionPay, Maestro, Mir, RuPay, Troy) and a valid
 * Luhn check digit. */
bool redact_card_valid(const char *digits, size_t len);
/* The Luhn (mod 10) check over `len` decimal digits. */
bool redact_luhn_valid(const char *digits, size_t len);

/* The IBAN length of the country code at `cc` (two upper-case letters), or 0
 * for a country without IBANs. */
unsigned redact_iban_length(const char *cc);
/* Whether `iban` (`len` upper-case letters and digits, no spaces) has its
 * country's length, check digits 02..98 and passes the mod-97 check. */
bool redact_iban_valid(const char *iban, size_t len);

/* Whether `header` (`len` base64url characters, no padding) decodes to a JSON
 * object with a string member "alg": a JOSE header. */
bool redact_jwt_header_valid(const char *header, size_t len);

#endif
