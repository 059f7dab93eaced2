/* request.c - per-request state: the lazily acquired connection and error helpers. */
#include "apibench/request.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "apibench/db.h"
#include "apibench/server.h"

_Thread_local struct timing *current_timing;

struct dbconn *reqctx_db(struct reqctx *ctx, struct apierr *err)
{
    if (ctx->conn)
        return ctx->conn;
    const struct connsrc_ops *ops = ctx->srv->build->connections;
    int status = 503;
    char msg[200] = "";
    ctx->conn = ops->acquire(ctx->srv->connections, &status, msg, sizeof msg);
    if (!ctx->conn) {
        msg[strcspn(msg, "\n")] = '\0'; /* libpq adds hints on further lines */
        apierr_set(err, status ? status : 503, "database unavailable: %s",
                   msg[0] ? msg : "no connection");
        if (err->status == 503)
            err->retry_after_s = 1;
    }
    return ctx->conn;
}

void reqctx_release(struct reqctx *ctx)
{
    if (!ctx->conn)
        return;
    ctx->srv->build->connections->release(ctx->srv->connections, ctx->conn);
    ctx->conn = NULL;
}

int apierr_set(struct apierr *err, int status, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->status = status;
    err->retry_after_s = status == 503 ? 1 : 0;
    return -1;
}
