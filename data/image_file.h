/* image_file.h — one PNG or JPEG file as a network input: decoded by stb_image (Debian's
 * libstb), as 3 channels (grey and alpha images become RGB), and resized when its size is not
 * the model's: an area average when shrinking, bilinear when enlarging (stb_image_resize's box
 * and triangle filters), the conventions of PIL's reduce and OpenCV's INTER_AREA / INTER_LINEAR.
 * Pixel values stay on the 0..255 scale of the CIFAR readers. */
#ifndef NNDL_IMAGE_FILE_H
#define NNDL_IMAGE_FILE_H

#include <stdio.h>

#define IMAGE_CHANNELS 3
/* Larger images are refused before decoding (stb needs w * h * 3 bytes at once, and the resize
 * w * h * 3 floats: 15 bytes a pixel): a side, and the whole, 2^26 pixels (~1 GB), above the
 * 48-61 MP of cameras and phones (a 16384 x 16384 PNG of 261 KB had taken 3.9 GB). */
#define IMAGE_SIDE_MAX 16384
#define IMAGE_PIXELS_MAX (1L << 26)

/* True for names ending in .png, .jpg or .jpeg (any case): the files an image folder holds. */
int image_file_name_ok(const char *name);

/* The size of an image without decoding it; an error naming the file when it is not a PNG or
 * JPEG (by its first bytes: stb_image would also decode BMP, TGA or PNM files named .png, and
 * reads a truncated PNM's missing pixels from uninitialised memory) or stb cannot read it. */
int image_file_size(const char *path, int *h, int *w);

/* Decodes path into (IMAGE_CHANNELS, out_h, out_w) floats. A file of another size is resized
 * when resize is set, and refused otherwise with a message naming the file, both sizes and
 * --resize. */
int image_file_read(const char *path, float *chw, int out_h, int out_w, int resize);

/* Interleaved 8-bit RGB (h, w, 3) into planar floats (3, out_h, out_w), resized as above. */
int image_to_planar(const unsigned char *rgb, int h, int w, float *chw, int out_h, int out_w);

#endif
