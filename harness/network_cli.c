/* network_cli.c - `apibench network PROFILE`: a network profile as shell assignments, and
 * the highest load its link carries without being the bottleneck, for scripts/reproduce
 * (which shapes lo from them: scripts/lib/network.sh). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "network.h"

static const char network_usage[] =
    "usage: apibench network PROFILE [--max-rate BYTES_PER_RESPONSE]\n"
    "\n"
    "PROFILE: a name in harness/networks/ (loopback, lan, wan, mobile, ...) or a path to a\n"
    ".conf file. Prints the profile as shell assignments (NET_PROFILE, NET_DESCRIPTION,\n"
    "NET_DOWN_KBIT, NET_UP_KBIT, NET_RTT_MS, NET_MSS, NET_SHAPES).\n"
    "  --max-rate B   print instead the highest rate (req/s) at which responses of B bytes\n"
    "                 use at most half of the download rate ('inf' when not limited)\n";

/* Prints s single-quoted for the shell. */
static void print_quoted(const char *s)
{
    putchar('\'');
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*s);
    }
    putchar('\'');
}

int network_main(int argc, char **argv)
{
    const char *spec = NULL, *max_rate = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(network_usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--max-rate") == 0 && i + 1 < argc) {
            max_rate = argv[++i];
        } else if (argv[i][0] != '-' && !spec) {
            spec = argv[i];
        } else {
            fprintf(stderr, "apibench network: unexpected argument '%s'\n%s", argv[i],
                    network_usage);
            return 2;
        }
    }
    if (!spec) {
        fputs(network_usage, stderr);
        return 2;
    }
    struct network_profile p;
    char err[768];
    if (network_profile_load(spec, &p, err, sizeof err) < 0) {
        fprintf(stderr, "apibench network: %s\n", err);
        return 2;
    }
    if (max_rate) {
        char *end;
        double bytes = strtod(max_rate, &end);
        if (end == max_rate || *end != '\0' || !(bytes > 0)) {
            fprintf(stderr, "apibench network: bad --max-rate '%s': bytes per response > 0\n",
                    max_rate);
            return 2;
        }
        double r = network_max_rate(&p, bytes);
        if (isinf(r))
            printf("inf\n");
        else
            printf("%.3f\n", r);
        return 0;
    }
    printf("NET_PROFILE=");
    print_quoted(p.name);
    printf("\nNET_DESCRIPTION=");
    print_quoted(p.description);
    printf(
        "\nNET_DOWN_KBIT=%.10g\nNET_UP_KBIT=%.10g\nNET_RTT_MS=%.10g\nNET_MSS=%d\nNET_SHAPES=%d\n",
        p.down_kbit, p.up_kbit, p.rtt_ms, p.mss, network_profile_shapes(&p) ? 1 : 0);
    return 0;
}
