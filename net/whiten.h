/* whiten.h — conv(whiten)'s start: airbench94's patch whitening (K. Jordan, "94% on CIFAR-10 in
 * 3.29 seconds on a single GPU", 2024).
 *
 * The covariance of the training images' K x K patches (every position at stride 1 of the first
 * `images` examples, as the model sees them: mean image subtracted) is eigen-decomposed. Filter
 * f < D = C K K is eigenvector f (largest eigenvalue first) scaled by 1 / sqrt(eigenvalue_f +
 * eps), filter D + f its negative: on those patches the outputs are uncorrelated, of variance
 * eigenvalue / (eigenvalue + eps), and a ReLU-like activation after them keeps both signs of each
 * direction. eps is 5e-4 of the mean eigenvalue: airbench's 5e-4 on unit-variance pixels, free
 * of the data's scale. With conv(frozen) the filters then stay fixed, as in airbench. */
#ifndef NNDL_WHITEN_H
#define NNDL_WHITEN_H

#include "dataset.h"
#include "model.h"

#define WHITEN_IMAGES 5000      /* airbench's sample of the training set */
#define WHITEN_EPS_SHARE 5e-4   /* eps as a share of the mean eigenvalue */

/* Eigenvalues (descending) and unit eigenvectors (column j of v, D x D row-major, its largest
 * entry positive) of the symmetric D x D matrix a, which is destroyed: cyclic Jacobi rotations,
 * accurate to rounding for these small matrices. */
void whiten_sym_eigen(double *a, int D, double *lambda, double *v);

/* The 2 C K K whitening filters of C x K x K patches of d's first `images` examples into w
 * ((2 C K K) x C x K x K floats); lambda (C K K values, may be NULL) gets the eigenvalues. */
int whiten_filters(float *w, double *lambda, const Dataset *d, int images, int K);

/* Writes the filters of every conv(whiten) layer of m from train (a model's first layer). */
int model_whiten(Model *m, const Dataset *train, int images);

#endif
