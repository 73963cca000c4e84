/* checkpoint_model.h — the small model whose checkpoints seed the checkpoint target: written by
 * gen_checkpoint_seed.c, and the model that fuzz_checkpoint.c loads them into. Batchnorm gives
 * running statistics in the state; Adam gives two optimizer arrays per parameter. */
#ifndef NNDL_FUZZ_CHECKPOINT_MODEL_H
#define NNDL_FUZZ_CHECKPOINT_MODEL_H

#define FUZZ_CKPT_SPEC "conv2x3-bn-relu-pool2-affine3"
#define FUZZ_CKPT_C 1
#define FUZZ_CKPT_H 4
#define FUZZ_CKPT_W 4

#endif
