/* cli_args.h — strict parsing of command-line values: the whole text must be a number in range,
 * otherwise an error naming the flag, the text and the range. */
#ifndef NNDL_CLI_ARGS_H
#define NNDL_CLI_ARGS_H

#include <stdint.h>

int arg_int(const char *flag, const char *text, long lo, long hi, int *out);
int arg_float(const char *flag, const char *text, double lo, double hi, float *out);
int arg_u64(const char *flag, const char *text, uint64_t *out);
/* A file or directory name: refused when empty (it would name the root or the working directory
 * by accident), stored otherwise. */
int arg_path(const char *flag, const char *text, const char **out);
/* "100,50,25" into up to max positive ints; returns the count or -1. */
int arg_int_list(const char *flag, const char *text, int *out, int max);

#endif
