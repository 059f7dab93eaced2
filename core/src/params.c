/* params.c - request validation: every client mistake becomes a 400 naming what was wrong. */
#include "apibench/params.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/cursor.h"
#include "apibench/strbuf.h"

/* Parses all of s as a plain decimal: digits only, an optional leading '-', no spaces. */
static int parse_decimal(const char *s, long long *out)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (!*p || strlen(p) > 19)
        return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return -1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno)
        return -1;
    *out = v;
    return 0;
}

int params_int(const char *name, const char *text, int min, int max, int def, int *out,
               struct apierr *err)
{
    long long v;
    if (!text) {
        *out = def;
        return 0;
    }
    if (parse_decimal(text, &v) != 0 || v < min || v > max)
        return apierr_set(err, 400, "invalid %s: expected an integer from %d to %d", name, min,
                          max);
    *out = (int)v;
    return 0;
}

int params_id(const char *what, const char *segment, int64_t max, int64_t *out,
              struct apierr *err)
{
    long long v;
    if (!segment || parse_decimal(segment, &v) != 0 || v < 1 || v > max)
        return apierr_set(err, 400, "invalid %s id: expected a positive integer", what);
    *out = v;
    return 0;
}

static int number_field(json_t *row, const char *key, size_t i, double *out, struct apierr *err)
{
    json_t *v = json_object_get(row, key);
    if (!json_is_number(v))
        return apierr_set(err, 400, "invalid readings[%zu].%s: expected a number", i, key);
    *out = json_number_value(v);
    if (!isfinite(*out))
        return apierr_set(err, 400, "invalid readings[%zu].%s: expected a number", i, key);
    return 0;
}

int params_ingest(const char *body, size_t len, struct reading_in **rows, size_t *nrows,
                  struct apierr *err)
{
    json_error_t jerr;
    *rows = NULL;
    *nrows = 0;
    json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return apierr_set(err, 400, "malformed JSON body: %s (line %d, column %d)", jerr.text,
                          jerr.line, jerr.column);
    int rc = -1;
    struct reading_in *out = NULL;
    json_t *list = json_object_get(root, "readings");
    if (!json_is_object(root) || !json_is_array(list)) {
        apierr_set(err, 400, "invalid body: expected {\"readings\": [...]}");
        goto done;
    }
    size_t n = json_array_size(list);
    if (n < 1 || n > PARAMS_MAX_ROWS) {
        apierr_set(err, 400, "invalid readings: expected 1 to %d rows, got %zu", PARAMS_MAX_ROWS,
                   n);
        goto done;
    }
    out = xcalloc(n, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_array_get(list, i);
        if (!json_is_object(row)) {
            apierr_set(err, 400, "invalid readings[%zu]: expected an object", i);
            goto done;
        }
        json_t *ts = json_object_get(row, "timestamp");
        if (!json_is_string(ts) || json_string_length(ts) >= sizeof out[i].timestamp ||
            !cursor_timestamp_valid(json_string_value(ts))) {
            apierr_set(err, 400,
                       "invalid readings[%zu].timestamp: expected UTC ISO 8601 such as "
                       "2026-11-27T10:00:00Z",
                       i);
            goto done;
        }
        strcpy(out[i].timestamp, json_string_value(ts));
        if (number_field(row, "temperature", i, &out[i].temperature, err) != 0 ||
            number_field(row, "humidity", i, &out[i].humidity, err) != 0 ||
            number_field(row, "battery", i, &out[i].battery, err) != 0)
            goto done;
        json_t *rssi = json_object_get(row, "rssi");
        if (!json_is_integer(rssi) || json_integer_value(rssi) < -1000 ||
            json_integer_value(rssi) > 1000) {
            apierr_set(err, 400, "invalid readings[%zu].rssi: expected an integer", i);
            goto done;
        }
        out[i].rssi = (int)json_integer_value(rssi);
    }
    *rows = out;
    *nrows = n;
    out = NULL;
    rc = 0;
done:
    free(out);
    json_decref(root);
    return rc;
}

/* A plausible address: one '@', something on both sides, a dot in the domain, no spaces
 * or control characters (it ends up in an SMTP envelope). */
static bool email_valid(const char *s)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n < 3 || n > 254 || !at || at == s || strchr(at + 1, '@') || !strchr(at + 1, '.') ||
        at[1] == '.' || s[n - 1] == '.')
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == '"' ||
            *p == ',' || *p == ';' || *p == '\\')
            return false;
    return true;
}

int params_report(const char *body, size_t len, struct report_request *out, json_t **root,
                  struct apierr *err)
{
    json_error_t jerr;
    *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*root)
        return apierr_set(err, 400, "malformed JSON body: %s (line %d, column %d)", jerr.text,
                          jerr.line, jerr.column);
    json_t *kind = json_object_get(*root, "kind"), *id = json_object_get(*root, "id"),
           *hours = json_object_get(*root, "hours"), *email = json_object_get(*root, "email");
    memset(out, 0, sizeof *out);
    if (!json_is_object(*root))
        apierr_set(err, 400, "invalid body: expected a JSON object");
    else if (!json_is_string(kind) || (strcmp(json_string_value(kind), "device") != 0 &&
                                       strcmp(json_string_value(kind), "site") != 0))
        apierr_set(err, 400, "invalid kind: expected \"device\" or \"site\"");
    else if (!json_is_integer(id) || json_integer_value(id) < 1 ||
             json_integer_value(id) > INT32_MAX)
        apierr_set(err, 400, "invalid id: expected a positive integer");
    else if (hours && (!json_is_integer(hours) || json_integer_value(hours) < 1 ||
                       json_integer_value(hours) > PARAMS_HOURS_MAX))
        apierr_set(err, 400, "invalid hours: expected an integer from 1 to %d",
                   PARAMS_HOURS_MAX);
    else if (!json_is_string(email) || !email_valid(json_string_value(email)))
        apierr_set(err, 400, "invalid email: expected an address such as ops@example.com");
    else {
        out->kind = json_string_value(kind);
        out->target_id = (int)json_integer_value(id);
        out->hours = hours ? (int)json_integer_value(hours) : PARAMS_HOURS_DEFAULT;
        out->email = json_string_value(email);
        return 0;
    }
    json_decref(*root);
    *root = NULL;
    return -1;
}
