/* stop_signals.h — SIGINT, SIGTERM and SIGHUP as a request to stop training cleanly.
 *
 * The first signal only sets a flag (handed to the Solver as SolverConfig.stop): the step in
 * progress finishes and the program saves what it has. A second signal ends the program at
 * once, killed by that signal. The flag lives here, in the program, not in the library. */
#ifndef NNDL_STOP_SIGNALS_H
#define NNDL_STOP_SIGNALS_H

#include <signal.h>

/* Installs the handlers, except for a signal that is ignored already (nohup: it stays ignored);
 * returns the flag, 0 until a signal arrives, then its number. The signals are blocked in the
 * calling thread and taken by a thread of this module's (stop_signals.c says why). */
const volatile sig_atomic_t *stop_signals_install(void);
/* Blocks them in the calling thread's OpenMP team too (each thread that computes). Not in a
 * child forked from a process that ran OpenMP: libgomp's thread pool does not survive a fork. */
void stop_signals_off_team(void);
/* Puts back the handlers that were there before, and unblocks the signals in this thread. */
void stop_signals_restore(void);
/* "SIGINT", "SIGTERM", "SIGHUP". */
const char *stop_signal_name(int sig);

#endif
