/* mail.c - formats a report e-mail and sends it over SMTP with libcurl. */
#include "apibench/mail.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apibench/strbuf.h"
#include "apibench/urlmask.h"

static bool has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

bool mail_address_ok(const char *addr)
{
    if (!addr || !*addr || strlen(addr) > 254)
        return false;
    const char *at = strchr(addr, '@');
    if (!at || at == addr || !at[1] || strchr(at + 1, '@'))
        return false;
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++) {
        if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == '(' || *p == ')' ||
            *p == ',' || *p == ';' || *p == '"' || *p == '\\')
            return false;
    }
    return true;
}

/* RFC 5322 date in UTC, independent of the process locale. */
static void format_date(time_t now, char *out, size_t outlen)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
}

int mail_format(const struct mail *m, time_t now, uint64_t unique, struct strbuf *out)
{
    if (!mail_address_ok(m->from) || !mail_address_ok(m->to) || !m->subject ||
        has_crlf(m->subject))
        return -1;
    char date[64];
    format_date(now, date, sizeof(date));
    strbuf_appendf(out,
                   "From: %s\r\n"
                   "To: %s\r\n"
                   "Subject: %s\r\n"
                   "Date: %s\r\n"
                   "Message-ID: <report-%lld.%llx@apibench.local>\r\n"
                   "X-Apibench-Job: %lld\r\n"
                   "MIME-Version: 1.0\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: 8bit\r\n"
                   "\r\n",
                   m->from, m->to, m->subject, date, (long long)m->job_id,
                   (unsigned long long)unique, (long long)m->job_id);
    /* The body with every line ending as CRLF (SMTP's line end). libcurl dot-stuffs. */
    const char *p = m->body ? m->body : "";
    while (*p) {
        size_t n = strcspn(p, "\r\n");
        strbuf_append(out, p, n);
        strbuf_append(out, "\r\n", 2);
        p += n;
        if (*p == '\r')
            p++;
        if (*p == '\n')
            p++;
    }
    if (out->len == 0 || out->data[out->len - 1] != '\n')
        strbuf_append(out, "\r\n", 2);
    return 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int mail_global_init(void)
{
    pthread_once(&curl_once, curl_init);
    return curl_init_rc == CURLE_OK ? 0 : -1;
}

struct upload {
    const char *data;
    size_t len, off;
    const volatile sig_atomic_t *abort; /* mail.abort */
    curl_socket_t fd;                   /* the SMTP connection, once open */
};

static size_t read_payload(char *dst, size_t size, size_t nmemb, void *userp)
{
    struct upload *u = userp;
    size_t room = size * nmemb, left = u->len - u->off;
    size_t n = left < room ? left : room;
    memcpy(dst, u->data + u->off, n);
    u->off += n;
    return n;
}

/* libcurl's progress callback: non-zero abandons the transfer. */
static int check_abort(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const struct upload *u = clientp;
    if (!*u->abort)
        return 0;
    /* libcurl would then say QUIT and wait for the answer to DATA first: cut it short. */
    if (u->fd != CURL_SOCKET_BAD)
        shutdown(u->fd, SHUT_RDWR);
    return 1;
}

static int note_socket(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
    (void)purpose;
    struct upload *u = clientp;
    u->fd = fd;
    return CURL_SOCKOPT_OK;
}

int mail_send(const char *url, const struct mail *m, long timeout_ms, char *err, size_t errlen)
{
    int rc = -1;
    struct strbuf msg = {0};
    struct curl_slist *rcpt = NULL;
    CURL *curl = NULL;
    char envelope_from[300], curlerr[CURL_ERROR_SIZE] = "";

    if (mail_global_init() != 0) {
        snprintf(err, errlen, "cannot initialise libcurl");
        return -1;
    }
    static uint64_t seq;
    uint64_t unique = ((uint64_t)getpid() << 40) ^ ((uint64_t)time(NULL) << 12) ^
                      __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
    if (mail_format(m, time(NULL), unique, &msg) != 0) {
        snprintf(err, errlen, "cannot format e-mail: bad address or subject");
        goto out;
    }
    curl = curl_easy_init();
    if (!curl) {
        snprintf(err, errlen, "cannot create a libcurl handle");
        goto out;
    }
    snprintf(envelope_from, sizeof(envelope_from), "<%s>", m->from);
    rcpt = curl_slist_append(NULL, m->to);
    struct upload up = {msg.data, msg.len, 0, m->abort, CURL_SOCKET_BAD};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, envelope_from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_payload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &up);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* safe in threads */
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 2000 ? timeout_ms : 2000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curlerr);
    if (m->abort) {
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, check_abort);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &up);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_SOCKOPTFUNCTION, note_socket);
        curl_easy_setopt(curl, CURLOPT_SOCKOPTDATA, &up);
    }
    CURLcode res = curl_easy_perform(curl);
    if (res != CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        char shown[512]; /* the error reaches logs and the job's "error" field */
        snprintf(err, errlen, "cannot send e-mail via %s: %s%s%s (smtp %ld)",
                 url_mask_password(url, shown, sizeof shown), curl_easy_strerror(res),
                 curlerr[0] ? ": " : "", curlerr, code);
        goto out;
    }
    rc = 0;
out:
    curl_slist_free_all(rcpt);
    if (curl)
        curl_easy_cleanup(curl);
    strbuf_free(&msg);
    return rc;
}
