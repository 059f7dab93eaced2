/* results.h - the results of one `apibench run`: DIR/NAME.json (format "apibench-run/1",
 * docs/RESULTS.md) and the .hgrm spectra beside it. Every file is written to a temporary
 * name in the same folder and renamed into place, the JSON last, so a reader never sees
 * half a file and a JSON file means the spectra are there too. */
#ifndef APIBENCH_RESULTS_H
#define APIBENCH_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "envinfo.h"
#include "hist.h"
#include "hlog.h"
#include "loadgen.h"
#include "slo.h"

struct results_run {
    const char *label;
    json_t *config; /* borrowed */
    const struct envinfo *env;
    const struct loadgen_result *lg;
    bool closed;
    double intended_rate;                 /* 0 in closed loop */
    const char *started_at, *finished_at; /* ISO 8601 UTC */
    const char *slo_spec;                 /* NULL: no SLO */
    const struct slo *slo;
};

/* {"count", "mean_ms", "stdev_ms", "min_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms",
 * "p9999_ms", "max_ms"} of h (new reference). */
json_t *results_hist_summary(const struct hist *h);

/* The measured phase's timeline (new reference): one object per second of intended send
 * time, {"t_s", "due", "responses", "errors", "mean_ms", "max_ms"} (mean and max over
 * responses and failures, null for a second without any). */
json_t *results_timeline_json(const struct loadgen_result *lg);

/* The run's JSON document (new reference). *slo_passed is false when an SLO term was
 * breached (true without an SLO). */
json_t *results_run_json(const struct results_run *r, bool *slo_passed);

/* Writes text to path atomically (temporary file in the same folder, fsync, rename).
 * Returns 0, or -1 with a one-line reason in err (nothing is left behind). */
int results_write_atomic(const char *path, const char *text, size_t len, char *err, size_t errlen);

/* Writes h as a .hgrm spectrum (milliseconds) to path, atomically. Returns 0 or -1. */
int results_write_hgrm(const char *path, const struct hist *h, char *err, size_t errlen);

/* Writes an interval log (hlog_write) to path, atomically. Returns 0 or -1. */
int results_write_hlog(const char *path, double start_epoch_s, const struct hlog_series *series,
                       const struct hlog_tagged *tagged, int ntagged, double window_s, char *err,
                       size_t errlen);

/* Writes base.json (the document doc), atomically. Returns 0, or -1 with err set. */
int results_write_json(const char *base, json_t *doc, char *err, size_t errlen);

/* Writes base.latency.hgrm, base.latency_answered.hgrm, base.service.hgrm, base.send_lag.hgrm,
 * base.ROUTE.latency.hgrm for every route that sent requests, the interval logs
 * base.{latency,latency_answered,service,send_lag}.hlog (docs/RESULTS.md), then base.json
 * (the document doc). Returns 0, or -1 with the reason in err. */
int results_write_all(const char *base, const struct results_run *r, json_t *doc, char *err,
                      size_t errlen);

/* The current time, ISO 8601 UTC ("2026-11-29T13:47:30Z"), for started_at / finished_at. */
void results_utc_now(char *buf, size_t len);

/* Creates the folder part of base (like mkdir -p). Returns 0, or -1 with err set. */
int results_prepare_dir(const char *base, char *err, size_t errlen);

#endif
