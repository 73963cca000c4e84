/* image_folder.h — a data set as a folder of class folders (PyTorch's ImageFolder layout):
 *   DIR/<class name>/<image>.png|.jpg|.jpeg
 * Classes are the sub-folders in name order (label = index); the images of each in name order.
 * Hidden entries and files of other extensions are skipped; a class folder without images, and a
 * folder without class folders, are refused. */
#ifndef NNDL_IMAGE_FOLDER_H
#define NNDL_IMAGE_FOLDER_H

#include "class_names.h"
#include "dataset.h"

typedef struct ImageFolder {
    ClassNames classes;
    int n;                      /* images */
    char **paths;               /* n paths */
    int *labels;                /* n labels */
    int first_h, first_w;       /* the size of the first image */
} ImageFolder;

/* Lists the folder and reads the first image's size (not its pixels). */
int image_folder_scan(ImageFolder *f, const char *dir);
void image_folder_free(ImageFolder *f);

/* True when dir holds at least one sub-folder that is not hidden: an image folder's look. */
int image_folder_detect(const char *dir);

/* Decodes images order[0..n) of f into d (allocated: n examples of (3, h, w)), each resized
 * to h x w when resize is set (see image_file_read). label_map, when not NULL, maps the
 * folder's labels to another set of classes (a val folder onto the training folder's). */
int image_folder_load(const ImageFolder *f, const int *order, int n, Dataset *d, int h, int w, int resize,
                      const int *label_map);

/* The labels of `f` in the classes `to` (by name); an error naming the folder's class that
 * `to` lacks. map gets f->classes.n entries. */
int image_folder_map_classes(const ImageFolder *f, const ClassNames *to, int *map, const char *dir);

#endif
