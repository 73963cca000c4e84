/* simt_internal.h — what the SIMT host's two halves share beyond simt.h. */
#ifndef NNDL_SIMT_INTERNAL_H
#define NNDL_SIMT_INTERNAL_H

namespace simt {
/* Verifies the guard zones of every live allocation after kernel `kernel` ran; reports and
 * re-arms any that were written. */
void check_all_guards(const char *kernel);
/* Counts one kernel launch (simt::counters). */
void count_launch();
void count_graph_launch();
/* During a capture: reports that `call` is not permitted, invalidates the capture and returns
 * true (the caller then fails with cudaErrorStreamCaptureUnsupported); otherwise false. */
bool capture_forbids(const char *call);
/* Whether a stream capture is in progress. */
bool capturing();
} // namespace simt

#endif
