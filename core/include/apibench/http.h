/* http.h - the libmicrohttpd glue: starts and stops the listening daemon. */
#ifndef APIBENCH_HTTP_H
#define APIBENCH_HTTP_H

#include <stddef.h>

struct server;
struct http;

/* Starts listening on srv->cfg's address and port with srv->cfg.threads threads. Returns
 * NULL with err filled when the address cannot be bound. */
struct http *http_start(struct server *srv, char *err, size_t errlen);

/* Stops accepting, lets running handlers finish, closes connections, frees h. Accepts NULL. */
void http_stop(struct http *h);

#endif
