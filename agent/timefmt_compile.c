/* Compiling strptime-style time formats (see timefmt.h) into the small
 * program that timefmt.c runs per line. Runs at config time only. */
#include "timefmt.h"
#include "timefmt_internal.h"

#include "buf.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdlib.h>

/* A directive is one op, or an expansion compiled in its place. */
static const struct directive {
    uint8_t kind;
    uint8_t arg;
    const char *expansion;
} directives[128] = {
    ['Y'] = {OP_NUMBER, F_YEAR, NULL},   ['y'] = {OP_NUMBER, F_YEAR2, NULL},
    ['m'] = {OP_NUMBER, F_MONTH, NULL},  ['d'] = {OP_NUMBER, F_DAY, NULL},
    ['j'] = {OP_NUMBER, F_YDAY, NULL},   ['H'] = {OP_NUMBER, F_HOUR, NULL},
    ['I'] = {OP_NUMBER, F_HOUR12, NULL}, ['M'] = {OP_NUMBER, F_MINUTE, NULL},
    ['S'] = {OP_NUMBER, F_SECOND, NULL}, ['b'] = {OP_MONTH_NAME, 0, NULL},
    ['B'] = {OP_MONTH_NAME, 0, NULL},    ['h'] = {OP_MONTH_NAME, 0, NULL},
    ['a'] = {OP_WEEKDAY_NAME, 0, NULL},  ['A'] = {OP_WEEKDAY_NAME, 0, NULL},
    ['p'] = {OP_AMPM, 0, NULL},          ['L'] = {OP_FRACTION, 0, NULL},
    ['N'] = {OP_FRACTION, 9, NULL},      ['s'] = {OP_EPOCH, 0, NULL},
    ['z'] = {OP_OFFSET, 0, NULL},        ['Z'] = {OP_ZONE_NAME, 0, NULL},
    ['%'] = {OP_LITERAL, '%', NULL},     ['e'] = {OP_NONE, 0, " %d"},
    ['T'] = {OP_NONE, 0, "%H:%M:%S"},    ['F'] = {OP_NONE, 0, "%Y-%m-%d"},
    ['D'] = {OP_NONE, 0, "%m/%d/%y"},    ['R'] = {OP_NONE, 0, "%H:%M"},
};

static unsigned op_sets(const struct time_op *op)
{
    switch (op->kind) {
    case OP_NUMBER:
        return BIT(op->arg);
    case OP_MONTH_NAME:
        return BIT(F_MONTH);
    case OP_AMPM:
        return BIT(F_AMPM);
    case OP_EPOCH:
        return BIT(F_EPOCH);
    case OP_OFFSET:
    case OP_ZONE_NAME:
        return BIT(F_ZONE);
    default:
        return 0;
    }
}

struct compiler {
    const char *format;
    struct time_op *ops;
    size_t count, cap;
    unsigned sets;
    char *error;
};

static int compile_fail(struct compiler *c, size_t column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int compile_fail(struct compiler *c, size_t column, const char *fmt, ...)
{
    struct buf msg = BUF_INIT;
    buf_printf(&msg, "time format '%s': ", c->format);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    buf_printf(&msg, " at column %zu", column + 1);
    c->error = (char *)buf_cstr(&msg);
    return -1;
}

static void emit(struct compiler *c, uint8_t kind, uint8_t arg)
{
    if (kind == OP_SPACE && c->count > 0 && c->ops[c->count - 1].kind == OP_SPACE)
        return;
    c->ops = xgrow(c->ops, &c->cap, c->count + 1, sizeof *c->ops);
    c->ops[c->count++] = (struct time_op){kind, arg};
    c->sets |= op_sets(&c->ops[c->count - 1]);
}

/* Where a directive was written. Ops from an expansion such as %T report the
 * directive as written. */
struct site {
    size_t column;
    char name;
};

static int compile_text(struct compiler *c, const char *text, const struct site *expanded);

static bool conflicts(unsigned sets, unsigned before)
{
    return ((sets & CALENDAR_BITS) && (before & BIT(F_EPOCH))) ||
           ((sets & BIT(F_EPOCH)) && (before & CALENDAR_BITS));
}

static int compile_directive(struct compiler *c, char name, const struct site *at)
{
    unsigned char index = (unsigned char)name;
    if (name == '\0')
        return compile_fail(c, at->column, "trailing %%");
    const struct directive *d = index < 128 ? &directives[index] : NULL;
    if (!d || (d->kind == OP_NONE && !d->expansion))
        return compile_fail(c, at->column, "unknown directive %%%c", name);
    if (d->expansion)
        return compile_text(c, d->expansion, at);
    if (conflicts(op_sets(&(struct time_op){d->kind, d->arg}), c->sets))
        return compile_fail(c, at->column, "%%%c cannot be combined with %s", at->name,
                            at->name == 's' ? "date or time directives" : "%s");
    emit(c, d->kind, d->arg);
    return 0;
}

/* Compiles `text`: the format itself, or the expansion of a directive. */
static int compile_text(struct compiler *c, const char *text, const struct site *expanded)
{
    for (size_t i = 0; text[i]; i++) {
        if (timefmt_is_space(text[i])) {
            emit(c, OP_SPACE, 0);
        } else if (text[i] != '%') {
            emit(c, OP_LITERAL, (uint8_t)text[i]);
        } else {
            struct site at = expanded ? *expanded : (struct site){i, text[i + 1]};
            if (compile_directive(c, text[i + 1], &at) < 0)
                return -1;
            i++;
        }
    }
    return 0;
}

struct time_format *timefmt_compile(const char *format, char **error)
{
    struct compiler c = {.format = format};
    if (compile_text(&c, format, NULL) < 0) {
        free(c.ops);
        *error = c.error;
        return NULL;
    }
    if (!(c.sets & (CALENDAR_BITS | BIT(F_EPOCH)))) {
        free(c.ops);
        *error = xasprintf("time format '%s': no date or time directive", format);
        return NULL;
    }
    struct time_format *fmt = xmalloc(sizeof *fmt);
    *fmt = (struct time_format){c.ops, c.count, c.sets};
    return fmt;
}

void timefmt_free(struct time_format *fmt)
{
    if (!fmt)
        return;
    free(fmt->ops);
    free(fmt);
}
