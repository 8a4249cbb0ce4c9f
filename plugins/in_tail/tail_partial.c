/* Partial lines a parser holds for a file (CRI `P` pieces, docker entries
 * split at 16 KiB) until their last piece comes: the checkpoint floor that
 * keeps a restart from skipping them, the partial_wait timer that hands on
 * pieces whose last piece never comes, and the hand-over when the file ends
 * or skiff stops. Not for joining pieces: the parsers do that. */
#include "tail.h"

#include "log.h"
#include "loop.h"

#include <stdint.h>

/* Hands on every held line whose first piece starts before `before`, each
 * as one record marked partial. */
void tail_partial_flush(struct tail_file *f, uint64_t before, enum tail_partial_reason reason)
{
    struct tail *t = f->tail;
    if (!f->parser_state)
        return;
    for (;;) {
        struct record rec;
        record_init_now(&rec);
        rec.origin.source_id = f->source_id;
        rec.origin.offset = f->read_offset;
        if (parser_state_flush(t->parser, f->parser_state, before, &rec) != PARSE_OK) {
            record_free(&rec);
            return;
        }
        if (f->path_attachment)
            record_attach(&rec, f->path_attachment);
        if (rec.origin.offset > f->emitted_offset)
            f->emitted_offset = rec.origin.offset;
        metric_add(t->metrics.partial_flushed[reason], 1);
        input_emit(t->in, f->tag, &rec);
    }
}

/* The timer fired: the lines that were held when it was armed have waited
 * partial_wait; lines held since wait for the next turn (at most twice
 * partial_wait in all). */
static void tail_partial_expired(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct tail_file *f = data;
    f->partial_timer = NULL; /* one-shot */
    if (input_is_paused(f->tail->in)) {
        tail_partial_arm(f); /* nothing may be emitted now; try again later */
        return;
    }
    uint64_t cut = f->partial_cut; /* a read below may arm the timer anew */
    if (f->ready) {
        /* Written to, and its read waits for the next seal (tail_mark_written):
         * the last pieces may be in what was written. */
        bool may_close = f->rotated && !f->rotate_timer;
        tail_unmark_ready(f);
        bool more = tail_file_read(f);
        if (!more && may_close)
            return; /* closed at its end, its pieces handed on, and maybe freed */
        if (more)
            tail_mark_ready(f);
    }
    tail_partial_flush(f, cut, TAIL_PARTIAL_TIMEOUT);
    tail_partial_arm(f);
}

void tail_partial_arm(struct tail_file *f)
{
    struct tail *t = f->tail;
    uint64_t start;
    if (f->partial_timer || t->stopped ||
        !parser_state_held_from(t->parser, f->parser_state, &start))
        return;
    f->partial_cut = f->line_start; /* everything held now starts before it */
    f->partial_timer =
        loop_add_timer(t->in->loop, t->opts->partial_wait_ms, 0, tail_partial_expired, f);
}

void tail_partial_cancel(struct tail_file *f)
{
    if (f->partial_timer) {
        loop_cancel_timer(f->tail->in->loop, f->partial_timer);
        f->partial_timer = NULL;
    }
}

uint64_t tail_partial_floor(const struct tail_file *f, uint64_t offset)
{
    uint64_t start;
    if (f->has_floor && f->floor < offset)
        offset = f->floor;
    if (f->parser_state && parser_state_held_from(f->tail->parser, f->parser_state, &start) &&
        start < offset)
        offset = start;
    return offset;
}

/* At shutdown, held lines are handed on marked partial, and the checkpoint
 * stays at the start of the first of them: after a restart they are read
 * again and joined with their last piece if it came meanwhile. */
void tail_partial_stop(struct tail_file *f)
{
    uint64_t start;
    tail_partial_cancel(f);
    if (!f->parser_state || !parser_state_held_from(f->tail->parser, f->parser_state, &start))
        return;
    f->floor = f->has_floor && f->floor < start ? f->floor : start;
    f->has_floor = true;
    tail_partial_flush(f, UINT64_MAX, TAIL_PARTIAL_SHUTDOWN);
}
