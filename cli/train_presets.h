/* train_presets.h — named recipes for `nndl train --preset NAME`: a model spec and the flags of
 * its training recipe, as command-line text, so a preset means exactly what its flags mean and
 * `--help` can print it. Explicit flags override a preset's (train_options_parse). */
#ifndef NNDL_TRAIN_PRESETS_H
#define NNDL_TRAIN_PRESETS_H

#include <stdio.h>

#define PRESET_MAX_FLAGS 48

typedef struct TrainPreset {
    const char *name;
    const char *summary;        /* one line for --help */
    const char *flags[PRESET_MAX_FLAGS]; /* "--flag", "value", ...; NULL-terminated */
} TrainPreset;

/* The preset of that name, or NULL with a message naming the known ones. */
const TrainPreset *train_preset_find(const char *name);
/* Every preset with its flags, for --help. */
void train_presets_print(FILE *f);

#endif
