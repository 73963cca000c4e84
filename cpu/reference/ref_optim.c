/* ref_optim.c — the five update rules in double, element by element (SEED-INVENTORY, Update
 * rules), the oracle for every backend's update ops. */
#include <math.h>

#include "reference.h"

static void update_one(const OptimConfig *c, double *w, double dw, double *s1, double *s2)
{
    double lr = c->learning_rate, mu = c->momentum;
    *w *= 1 - lr * (double)c->weight_decay; /* decoupled (AdamW / SGDW): before the rule's step */
    switch (c->rule) {
    case UPDATE_SGD: *w -= lr * dw; break;
    case UPDATE_SGD_MOMENTUM: *s1 = mu * *s1 - lr * dw; *w += *s1; break;
    case UPDATE_SGD_NESTEROV_MOMENTUM: {
        double v_old = *s1;
        *s1 = mu * *s1 - lr * dw;
        *w += *s1 + mu * (*s1 - v_old);
        break;
    }
    case UPDATE_RMSPROP:
        *s1 = c->decay_rate * *s1 + (1 - c->decay_rate) * dw * dw;
        *w -= lr * dw / (sqrt(*s1) + c->epsilon);
        break;
    case UPDATE_ADAM: {
        double b1 = c->beta1, b2 = c->beta2;
        *s1 = b1 * *s1 + (1 - b1) * dw;
        *s2 = b2 * *s2 + (1 - b2) * dw * dw;
        double mt = *s1 / (1 - pow(b1, c->t)), vt = *s2 / (1 - pow(b2, c->t));
        *w -= lr * mt / (sqrt(vt) + c->epsilon);
        break;
    }
    default: break;
    }
}

void ref_update(const OptimConfig *c, double *w, const double *dw, double *s1, double *s2, size_t n)
{
    double unused = 0;
    for (size_t i = 0; i < n; i++)
        update_one(c, &w[i], dw[i], s1 ? &s1[i] : &unused, s2 ? &s2[i] : &unused);
}
