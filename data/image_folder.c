/* image_folder.c — see image_folder.h. */
#include "image_folder.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "image_file.h"

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* The entries of dir that are directories (want_dirs) or image files, sorted; hidden skipped. */
static int list_entries(const char *dir, int want_dirs, char ***out, int *count)
{
    *out = NULL, *count = 0;
    DIR *d = opendir(dir);
    if (!d) return nndl_fail("cannot open image folder %s: %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0, cap = 0, rc = NNDL_OK;
    for (struct dirent *e; rc == NNDL_OK && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) {
            rc = nndl_fail("path %s/%s is too long", dir, e->d_name);
            break;
        }
        if (stat(path, &st) != 0) continue; /* a dangling link is no image */
        int wanted = want_dirs ? S_ISDIR(st.st_mode) : !S_ISDIR(st.st_mode) && image_file_name_ok(e->d_name);
        if (!wanted) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = nndl_fail("out of memory listing %s", dir);
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) rc = nndl_fail("out of memory listing %s", dir);
        else n++;
    }
    closedir(d);
    if (rc != NNDL_OK) {
        free_names(names, n);
        return rc;
    }
    if (n > 1) qsort(names, (size_t)n, sizeof *names, compare_names); /* names is NULL when n is 0 */
    *out = names, *count = n;
    return NNDL_OK;
}

int image_folder_detect(const char *dir)
{
    char **names;
    int n;
    if (list_entries(dir, 1, &names, &n) != NNDL_OK) return 0;
    free_names(names, n);
    return n > 0;
}

static int add_image(ImageFolder *f, const char *path, int label, int *cap)
{
    if (f->n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        char **paths = realloc(f->paths, (size_t)*cap * sizeof *paths);
        if (paths) f->paths = paths;
        int *labels = realloc(f->labels, (size_t)*cap * sizeof *labels);
        if (labels) f->labels = labels;
        if (!paths || !labels) return nndl_fail("out of memory for the image list");
    }
    if (!(f->paths[f->n] = strdup(path))) return nndl_fail("out of memory for the image list");
    f->labels[f->n++] = label;
    return NNDL_OK;
}

int image_folder_scan(ImageFolder *f, const char *dir)
{
    *f = (ImageFolder){0};
    char **classes;
    int n_classes, cap = 0;
    if (list_entries(dir, 1, &classes, &n_classes) != NNDL_OK) return NNDL_ERR;
    int rc = n_classes ? NNDL_OK
                       : nndl_fail("image folder %s holds no class folders: expected %s/<class>/<image>.png "
                                   "(or .jpg), one sub-folder per class", dir, dir);
    for (int c = 0; rc == NNDL_OK && c < n_classes; c++) {
        char sub[4096], **files;
        int n_files;
        snprintf(sub, sizeof sub, "%s/%s", dir, classes[c]);
        rc = class_names_add(&f->classes, classes[c]);
        if (rc == NNDL_OK) rc = list_entries(sub, 0, &files, &n_files);
        if (rc != NNDL_OK) break;
        if (n_files == 0)
            rc = nndl_fail("class folder %s holds no PNG or JPEG files (.png, .jpg, .jpeg)", sub);
        for (int i = 0; rc == NNDL_OK && i < n_files; i++) {
            char path[8192];
            snprintf(path, sizeof path, "%s/%s", sub, files[i]);
            rc = add_image(f, path, c, &cap);
        }
        free_names(files, n_files);
    }
    free_names(classes, n_classes);
    if (rc == NNDL_OK) rc = image_file_size(f->paths[0], &f->first_h, &f->first_w);
    if (rc != NNDL_OK) image_folder_free(f);
    return rc;
}

void image_folder_free(ImageFolder *f)
{
    class_names_free(&f->classes);
    free_names(f->paths, f->n);
    free(f->labels);
    *f = (ImageFolder){0};
}

int image_folder_load(const ImageFolder *f, const int *order, int n, Dataset *d, int h, int w, int resize,
                      const int *label_map)
{
    if (dataset_alloc(d, n, IMAGE_CHANNELS, h, w) != NNDL_OK) return NNDL_ERR;
    for (int i = 0; i < n; i++) {
        int k = order ? order[i] : i;
        if (image_file_read(f->paths[k], d->x + (size_t)i * dataset_example_size(d), h, w, resize) != NNDL_OK) {
            dataset_free(d);
            return NNDL_ERR;
        }
        d->y[i] = label_map ? label_map[f->labels[k]] : f->labels[k];
    }
    return NNDL_OK;
}

int image_folder_map_classes(const ImageFolder *f, const ClassNames *to, int *map, const char *dir)
{
    for (int c = 0; c < f->classes.n; c++)
        if ((map[c] = class_names_find(to, f->classes.names[c])) < 0)
            return nndl_fail("image folder %s has a class '%s' that the model's classes (%d, from the training "
                             "data) do not include", dir, f->classes.names[c], to->n);
    return NNDL_OK;
}
