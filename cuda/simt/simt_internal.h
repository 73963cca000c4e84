/* simt_internal.h — what the SIMT host's two halves share beyond simt.h. */
#ifndef NNDL_SIMT_INTERNAL_H
#define NNDL_SIMT_INTERNAL_H

namespace simt {
/* Verifies the guard zones of every live allocation after kernel `kernel` ran; reports and
 * re-arms any that were written. */
void check_all_guards(const char *kernel);
/* Counts one kernel launch (simt::counters). */
void count_launch();
} // namespace simt

#endif
