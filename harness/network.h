/* network.h - network profiles (harness/networks/NAME.conf): the link a client is on,
 * as a download rate, an upload rate and a round-trip time. A profile is emulated by the
 * kernel (tc on lo: scripts/lib/network.sh) or, without it, by the load generator's
 * per-connection rate limits; see docs/RESULTS.md. This module parses profiles and does
 * the link arithmetic; it emulates nothing itself. */
#ifndef APIBENCH_NETWORK_H
#define APIBENCH_NETWORK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define NETWORK_NAME_MAX 64
#define NETWORK_TEXT_MAX 160
#define NETWORK_DEFAULT_MSS 1448 /* Ethernet's: lo's 64 KB segments defeat a rate limit */
/* the share of the download rate a chosen load may use, so the link is not the bottleneck */
#define NETWORK_MAX_UTILISATION 0.5

/* Who emulates the profile's rate: nobody (loopback), the kernel (tc tbf on lo), or the
 * load generator (libcurl's per-connection limits). */
enum network_rate_by { NETWORK_RATE_NONE, NETWORK_RATE_KERNEL, NETWORK_RATE_GENERATOR };

struct network_profile {
    char name[NETWORK_NAME_MAX];        /* file name without .conf */
    char description[NETWORK_TEXT_MAX]; /* one line for reports */
    double down_kbit, up_kbit;          /* 0: not limited */
    double rtt_ms;                      /* 0: none added */
    int mss;                            /* TCP segment size the generator asks for when
                                           shaped (0: the system's) */
};

/* Parses the text of a profile file ("key = value" lines, '#' comments; keys description,
 * down_kbit, up_kbit, rtt_ms, mss) into *p, named name. Unknown keys, bad numbers,
 * negative values and a rate without the other direction's are errors. Returns 0, or -1
 * with a one-line reason in err. */
int network_profile_parse(const char *text, const char *name, struct network_profile *p, char *err,
                          size_t errlen);

/* Loads the profile spec: a name (harness/networks/NAME.conf in the current folder or in
 * the checkout of the binary) or a path to a .conf file. Returns 0, or -1 with a reason
 * (unknown profile: lists the known ones). */
int network_profile_load(const char *spec, struct network_profile *p, char *err, size_t errlen);

/* True when the profile limits a rate or adds a delay (loopback does neither). */
bool network_profile_shapes(const struct network_profile *p);

/* Bytes per second of a rate in kbit/s (1 kbit = 1000 bit, as tc counts). */
double network_kbit_to_bytes(double kbit);

/* The highest request rate at which responses of bytes_per_response use at most
 * NETWORK_MAX_UTILISATION of the download rate (0 bytes or no limit: INFINITY). */
double network_max_rate(const struct network_profile *p, double bytes_per_response);

/* The share of the download rate that rate responses of bytes_per_response take (0 when
 * not limited). Above 1 the link is the bottleneck. */
double network_utilisation(const struct network_profile *p, double rate, double bytes_per_response);

/* "generator", "kernel", "none"; parse returns 0 or -1. */
const char *network_rate_by_name(enum network_rate_by by);
int network_rate_by_parse(const char *text, enum network_rate_by *by);

/* {"profile", "description", "down_kbit", "up_kbit", "rtt_ms", "rate_by", "rtt_emulated"}
 * (new reference): what a run's results record about its network. */
json_t *network_json(const struct network_profile *p, enum network_rate_by by, bool rtt_emulated);

#endif
