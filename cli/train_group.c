/* train_group.c — see train_group.h. */
#include "train_group.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uLong crc_bytes(uLong crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) { /* crc32 takes uInt lengths */
        uInt k = n > (1u << 30) ? 1u << 30 : (uInt)n;
        crc = crc32(crc, b, k);
        b += k, n -= k;
    }
    return crc;
}

static uLong crc_dataset(uLong crc, const Dataset *d)
{
    crc = crc_bytes(crc, &d->n, sizeof d->n);
    crc = crc_bytes(crc, d->x, dataset_example_size(d) * (size_t)d->n * sizeof *d->x);
    return crc_bytes(crc, d->y, (size_t)d->n * sizeof *d->y);
}

uint64_t train_config_hash(int argc, char **argv, const TrainingData *data, const Model *m)
{
    uLong args = crc32(0, Z_NULL, 0);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0) { /* the path may differ; the values are hashed */
            i++;
            continue;
        }
        if (strncmp(argv[i], "--data=", 7) == 0) continue;
        args = crc_bytes(args, argv[i], strlen(argv[i]) + 1);
    }
    args = crc_bytes(args, m->be->name, strlen(m->be->name) + 1);
    uLong values = crc32(0, Z_NULL, 0);
    values = crc_dataset(values, &data->train);
    values = crc_dataset(values, &data->val);
    values = crc_dataset(values, &data->test);
    size_t n = model_state_size(m);
    float *state = malloc((n ? n : 1) * sizeof *state);
    if (state) { /* out of memory: the model is left out of the hash */
        model_state_save(m, state);
        values = crc_bytes(values, state, n * sizeof *state);
        free(state);
    }
    return (uint64_t)args << 32 | (uint64_t)values;
}

int train_group_end(Comm *c, int rc)
{
    if (c->size > 1 && (rc == 1 || rc == 2)) c->abort(c, rc);
    c->finish(c);
    return rc;
}
