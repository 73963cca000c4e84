/* cli_args.c — see cli_args.h. */
#include "cli_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int arg_int(const char *flag, const char *text, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi)
        return nndl_fail("%s: '%s' is not an integer between %ld and %ld", flag, text, lo, hi);
    *out = (int)v;
    return NNDL_OK;
}

int arg_float(const char *flag, const char *text, double lo, double hi, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= lo && v <= hi))
        return nndl_fail("%s: '%s' is not a number between %g and %g", flag, text, lo, hi);
    *out = (float)v;
    return NNDL_OK;
}

int arg_u64(const char *flag, const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-')
        return nndl_fail("%s: '%s' is not a non-negative integer", flag, text);
    *out = v;
    return NNDL_OK;
}

int arg_int_list(const char *flag, const char *text, int *out, int max)
{
    char buf[512];
    if (snprintf(buf, sizeof buf, "%s", text) >= (int)sizeof buf)
        return nndl_fail("%s: a list of %zu characters is too long", flag, strlen(text)), -1;
    int n = 0;
    /* every item between commas must be a number: strtok would skip empty ones ("10,,10", ",5") */
    for (char *item = buf, *next; item; item = next) {
        next = strchr(item, ',');
        if (next) *next++ = '\0';
        if (n == max || arg_int(flag, item, 1, 1000000, &out[n]) != NNDL_OK)
            return nndl_fail("%s: '%s' is not a comma-separated list of at most %d integers from 1 to 1000000",
                             flag, text, max), -1;
        n++;
    }
    return n;
}

int arg_path(const char *flag, const char *text, const char **out)
{
    if (!text || !*text) return nndl_fail("%s needs a non-empty file or directory name", flag);
    *out = text;
    return NNDL_OK;
}
