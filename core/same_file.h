/* same_file.h — whether two paths name one file, so that no output overwrites an input or
 * another output of the same run (docs/reliability.md). Text comparison is not enough: "./m.ckpt",
 * "sub/../m.ckpt" and "/abs/m.ckpt" are one file, and a file named through a hard link or a
 * symlink is one file too. */
#ifndef NNDL_SAME_FILE_H
#define NNDL_SAME_FILE_H

#include <stddef.h>

/* path resolved into out: realpath when the file exists (a symlink to it gives its target);
 * otherwise its directory resolved (".", "..", symlinked directories) and its name kept. The path
 * as given when neither can be resolved (a write there fails anyway) or the result does not
 * fit. */
void path_resolve(const char *path, char *out, size_t size);

/* a and b are one file: the same resolved path, or existing files with one device and inode. */
int same_file(const char *a, const char *b);

#endif
