/* mail.h - one e-mail over SMTP through libcurl (MAIL FROM, RCPT TO, DATA).
 *
 * The message carries an X-Apibench-Job header with the report id, so that the SMTP sink
 * can count how many times each job's e-mail arrived (at-least-once delivery shows up
 * there as duplicates). */
#ifndef APIBENCH_MAIL_H
#define APIBENCH_MAIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct strbuf;

struct mail {
    const char *from;    /* envelope and From: address, e.g. "reports@apibench.local" */
    const char *to;      /* envelope and To: address */
    const char *subject;
    const char *body;    /* plain text; bare LF line ends are sent as CRLF */
    int64_t job_id;      /* X-Apibench-Job; also part of the Message-ID */
    /* When not NULL, the send is abandoned soon after *abort becomes non-zero (within
     * libcurl's progress period, at most about a second): the worker's SIGTERM. */
    const volatile sig_atomic_t *abort;
};

/* Default envelope sender when the configuration names none. */
#define MAIL_DEFAULT_FROM "reports@apibench.local"

/* Formats m as an RFC 5322 message (headers From, To, Subject, Date, Message-ID,
 * X-Apibench-Job, MIME-Version, Content-Type, then the CRLF body) into out, dated now.
 * unique makes the Message-ID distinct between two sends of the same job. Returns 0, or
 * -1 when a header value contains CR or LF (header injection) or an address is empty. */
int mail_format(const struct mail *m, time_t now, uint64_t unique, struct strbuf *out);

/* True if addr looks like one plain address (local@domain, no spaces, angle brackets or
 * control characters): good enough to refuse header and envelope injection. */
bool mail_address_ok(const char *addr);

/* Sends m to the SMTP server at url (smtp://host:port) with a connect timeout and a total
 * timeout of timeout_ms. Returns 0 when the server accepted the message (250 after DATA),
 * or -1 with a one-line reason in err. curl_global_init() must have been called once
 * before threads start (mail_global_init does it). */
int mail_send(const char *url, const struct mail *m, long timeout_ms, char *err, size_t errlen);

/* Calls curl_global_init once; call it from main/open before any thread sends mail.
 * Returns 0 or -1. */
int mail_global_init(void);

#endif
