/* Chunks on `forward` connections. A delivery takes an idle connection,
 * or opens one on a closed slot (there are max_in_flight slots, and the
 * core never has more deliveries out at once). Its chunk goes as one
 * PackedForward message with a fresh chunk id; with require_ack it counts
 * as delivered only when the server answers {"ack": id} (Fluentd Forward
 * Protocol Specification v1, "Response"), else once it is written. A
 * connection that fails before the chunk went out hands it at once to
 * another host that is up; after that, the chunk is retried with the
 * output's backoff (delivery_done), on whichever host is up then. */
#include "fw_output.h"

#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fw_conn *pick_conn(struct fw_output *fw)
{
    for (unsigned i = 0; i < fw->conn_count; i++)
        if (fw->conns[i].state == FW_CONN_IDLE && !fw->conns[i].send)
            return &fw->conns[i];
    for (unsigned i = 0; i < fw->conn_count; i++)
        if (fw->conns[i].state == FW_CONN_CLOSED && !fw->conns[i].send)
            return &fw->conns[i];
    return NULL;
}

void fw_send_flush(struct fw_output *fw, struct delivery *delivery)
{
    struct fw_conn *conn = pick_conn(fw);
    if (!conn) {
        /* The core keeps at most max_in_flight deliveries out. */
        delivery_done(delivery, DELIVERY_RETRY, "no free connection (more chunks than slots)");
        return;
    }
    struct fw_send *send = xcalloc(1, sizeof *send);
    send->delivery = delivery;
    conn->send = send;
    if (conn->state == FW_CONN_IDLE)
        fw_send_ready(conn);
    else
        fw_conn_open(conn, fw_hosts_pick(fw, loop_now_ms(fw->out->loop)));
}

/* Ends the chunk on `conn` as delivered; the connection idles for the
 * next one, or closes. delivery_done comes last: it may start the next
 * chunk on this very connection. */
static void send_delivered(struct fw_conn *conn)
{
    struct fw_output *fw = conn->fw;
    struct fw_send *send = conn->send;
    struct delivery *delivery = send->delivery;
    struct fw_message_stats stats = send->stats;
    conn->send = NULL;
    free(send);
    metric_add(fw->metrics.chunks, 1);
    fw_hosts_ok(fw, conn->host);
    if (fw->failing) {
        fw->failing = false;
        output_clear_failing(fw->out);
    }
    if (conn->keepalive) {
        buf_free(&conn->out);
        conn->out_sent = 0;
        conn->state = FW_CONN_IDLE;
        fw_conn_deadline(conn, fw->opts->keepalive_idle_timeout_ms);
        fw_io_watch(conn);
    } else {
        fw_conn_close(conn);
    }
    if (stats.malformed == 0) {
        delivery_done(delivery, DELIVERY_OK, NULL);
        return;
    }
    for (uint32_t i = 0; i < stats.records; i++)
        delivery_mark_done(delivery, i);
    char reason[96];
    snprintf(reason, sizeof reason, "%u records of the chunk cannot be read", stats.malformed);
    delivery_done(delivery, DELIVERY_FAILED, reason);
}

static void send_start(struct fw_conn *conn)
{
    struct fw_output *fw = conn->fw;
    const struct fw_options *opts = fw->opts;
    struct fw_send *send = conn->send;
    const struct chunk *chunk = delivery_chunk(send->delivery);
    const char *chunk_id = NULL;
    if (opts->require_ack) {
        uint8_t id[16];
        if (fw_random(id, sizeof id) < 0) {
            fw_conn_fail(conn, FW_ERR_SEND, "no random bytes for the chunk id: %s",
                         strerror(errno));
            return;
        }
        fw_chunk_id(id, send->chunk_id);
        chunk_id = send->chunk_id;
    }
    fw_message_build(&conn->out, &fw->scratch, chunk, opts->tag ? opts->tag : chunk->tag, chunk_id,
                     fw->gzip, &send->stats);
    buf_free(&fw->scratch);
    metric_add(fw->metrics.entries_bytes, (int64_t)send->stats.entries_bytes);
    metric_add(fw->out->metrics.invalid_utf8, (int64_t)send->stats.invalid_utf8);
    if (send->stats.malformed)
        log_error(fw->out->alias, "chunk %llu is malformed after record %u",
                  (unsigned long long)chunk->id, send->stats.records);
    if (send->stats.records == 0) {
        /* Nothing readable to send: the chunk ends here. */
        send_delivered(conn);
        return;
    }
    conn->out_sent = 0;
    conn->state = FW_CONN_SENDING;
    fw_conn_deadline(conn, opts->send_timeout_ms);
    fw_conn_write(conn);
}

void fw_send_ready(struct fw_conn *conn)
{
    if (conn->send) {
        send_start(conn);
        return;
    }
    conn->state = FW_CONN_IDLE;
    fw_conn_deadline(conn, conn->fw->opts->keepalive_idle_timeout_ms);
    fw_io_watch(conn);
}

void fw_send_written(struct fw_conn *conn)
{
    struct fw_output *fw = conn->fw;
    metric_add(fw->out->metrics.bytes, (int64_t)conn->out.len);
    if (!fw->opts->require_ack) {
        send_delivered(conn);
        return;
    }
    buf_free(&conn->out);
    conn->out_sent = 0;
    conn->state = FW_CONN_ACK;
    fw_conn_deadline(conn, fw->opts->ack_timeout_ms);
    fw_io_watch(conn);
}

void fw_send_answer(struct fw_conn *conn, const uint8_t *data, size_t len)
{
    char *error = NULL;
    if (conn->state == FW_CONN_ACK && fw_ack_check(data, len, conn->send->chunk_id, &error) == 0) {
        send_delivered(conn);
        return;
    }
    if (!error)
        error = xstrdup(fw_is_helo(data, len)
                            ? "the server began a handshake (HELO): it needs shared_key"
                            : "the server answered before the chunk was written");
    fw_conn_fail(conn, FW_ERR_PROTOCOL, "%s", error);
    free(error);
}

void fw_send_failed(struct fw_conn *conn, const char *reason, bool refused, bool chunk_out)
{
    struct fw_output *fw = conn->fw;
    struct fw_send *send = conn->send;
    size_t host = conn->host;
    conn->send = NULL;
    fw_conn_close(conn);
    if (refused && !fw->failing) {
        fw->failing = true;
        output_set_failing(fw->out, reason);
    }
    size_t other = fw_hosts_other_up(fw, host, loop_now_ms(fw->out->loop));
    if (!chunk_out && other != SIZE_MAX && send->hosts_tried + 1 < fw->host_count) {
        send->hosts_tried++;
        log_warn(fw->out->alias, "%s; chunk %llu goes to %s", reason,
                 (unsigned long long)delivery_chunk(send->delivery)->id, fw->hosts[other].label);
        conn->send = send;
        fw->next_host = other + 1;
        fw_conn_open(conn, other);
        return;
    }
    struct delivery *delivery = send->delivery;
    free(send);
    delivery_done(delivery, DELIVERY_RETRY, reason);
}

void fw_send_cancel_all(struct fw_output *fw)
{
    for (unsigned i = 0; i < fw->conn_count; i++) {
        struct fw_conn *conn = &fw->conns[i];
        free(conn->send);
        conn->send = NULL;
        fw_conn_close(conn);
    }
}
