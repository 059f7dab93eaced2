/* envinfo.c - environment facts for the results file (see envinfo.h). */
#include "envinfo.h"

#include <curl/curl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '"'))
        s[--n] = '\0';
}

/* The value of the first line of path starting with key, after `sep` and blanks. */
static void read_keyed(const char *path, const char *key, char sep, char *out, size_t outlen)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, strlen(key)) != 0)
            continue;
        char *v = strchr(line, sep);
        if (!v)
            continue;
        v++;
        while (*v == ' ' || *v == '\t' || *v == '"')
            v++;
        snprintf(out, outlen, "%s", v);
        trim(out);
        break;
    }
    fclose(f);
}

/* `git rev-parse HEAD` in dir (NULL: the current folder), into out; "" when not a checkout. */
static void git_head(const char *dir, char *out, size_t outlen)
{
    char cmd[PATH_MAX + 64];
    if (dir)
        snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD 2>/dev/null", dir);
    else
        snprintf(cmd, sizeof cmd, "git rev-parse HEAD 2>/dev/null");
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    if (fgets(out, (int)outlen, p))
        trim(out);
    else
        out[0] = '\0';
    pclose(p);
}

void envinfo_collect(struct envinfo *e)
{
    memset(e, 0, sizeof *e);
    if (gethostname(e->hostname, sizeof e->hostname - 1) < 0)
        snprintf(e->hostname, sizeof e->hostname, "unknown");
    snprintf(e->cpu_model, sizeof e->cpu_model, "unknown");
    read_keyed("/proc/cpuinfo", "model name", ':', e->cpu_model, sizeof e->cpu_model);
    e->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    e->memory_bytes = pages > 0 && page > 0 ? (int64_t)pages * page : 0;
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(e->kernel, sizeof e->kernel, "%s %s %s %s", u.sysname, u.release, u.version,
                 u.machine);
    snprintf(e->os, sizeof e->os, "unknown");
    read_keyed("/etc/os-release", "PRETTY_NAME", '=', e->os, sizeof e->os);
    snprintf(e->libcurl, sizeof e->libcurl, "%s", curl_version_info(CURLVERSION_NOW)->version);
    git_head(NULL, e->commit, sizeof e->commit);
    if (e->commit[0] == '\0') {
        /* the binary usually sits in a build folder inside the checkout */
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            git_head(dirname(exe), e->commit, sizeof e->commit);
        }
    }
    const char *opt = "unoptimized";
#ifdef __OPTIMIZE__
    opt = "optimized";
#endif
    const char *asserts = "assertions on";
#ifdef NDEBUG
    asserts = "assertions off";
#endif
    const char *san = "";
#ifdef __SANITIZE_ADDRESS__
    san = ", asan";
#endif
    snprintf(e->build_type, sizeof e->build_type, "%s, %s%s", opt, asserts, san);
}

json_t *envinfo_json(const struct envinfo *e)
{
    return json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:s, s:s}", "hostname", e->hostname,
                     "cpu_model", e->cpu_model, "cores", e->cores, "memory_bytes",
                     (json_int_t)e->memory_bytes, "kernel", e->kernel, "os", e->os, "libcurl",
                     e->libcurl, "apibench_commit", e->commit, "build_type", e->build_type);
}
