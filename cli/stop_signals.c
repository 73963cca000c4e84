/* stop_signals.c — see stop_signals.h.
 *
 * No handler runs on a thread that computes. The stop signals are blocked in the calling thread
 * (and, by stop_signals_off_team, in its OpenMP team; threads created later inherit the mask),
 * and a waiter thread takes them with sigwait. With the handler run on the computing thread, one
 * MPI rank in 20 to 60 stopped by SIGTERM aborted with a corrupted heap inside oneDNN's sgemm
 * (JIT-compiled code, interrupted there); none of 120 with OpenBLAS, none of 120 with the signals
 * kept off the computing threads. The handler stays installed for threads that do not block
 * them (an MPI library's own, started before): it only sets the flag.
 */
#include "stop_signals.h"

#include <pthread.h>
#include <string.h>

static const int stop_sigs[] = {SIGINT, SIGTERM, SIGHUP};
enum { N_SIGS = sizeof stop_sigs / sizeof *stop_sigs };

/* A signal handler can only reach static storage: the flag, and what restore puts back. */
static volatile sig_atomic_t stop_requested;
static struct sigaction previous[N_SIGS];
static sigset_t caught;         /* the stop signals not ignored at install */
static pthread_t waiter;
static int waiting;

/* The first signal sets the flag; the second ends the program, killed by it. */
static void on_stop_signal(int sig)
{
    if (stop_requested) {
        signal(sig, SIG_DFL);
        sigset_t one;
        sigemptyset(&one), sigaddset(&one, sig);
        pthread_sigmask(SIG_UNBLOCK, &one, NULL); /* on the waiter it is blocked */
        raise(sig);
        return;
    }
    stop_requested = sig;
}

static void *wait_for_stop(void *unused)
{
    (void)unused;
    for (;;) {
        int sig;
        if (sigwait(&caught, &sig) == 0) on_stop_signal(sig);
    }
    return NULL;
}

void stop_signals_off_team(void)
{
    if (!waiting) return;
#pragma omp parallel
    pthread_sigmask(SIG_BLOCK, &caught, NULL);
}

const volatile sig_atomic_t *stop_signals_install(void)
{
    stop_requested = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask); /* one handler at a time: the second always sees the first's flag */
    for (int i = 0; i < N_SIGS; i++) sigaddset(&sa.sa_mask, stop_sigs[i]);
    sa.sa_flags = SA_RESTART; /* a write interrupted by the first signal goes on */
    sigemptyset(&caught);
    for (int i = 0; i < N_SIGS; i++) {
        sigaction(stop_sigs[i], NULL, &previous[i]);
        /* a signal ignored when the program started stays ignored (nohup, background jobs of
         * non-interactive shells): the caller asked for it not to stop the run */
        if (previous[i].sa_handler == SIG_IGN) continue;
        sigaction(stop_sigs[i], &sa, NULL);
        sigaddset(&caught, stop_sigs[i]);
    }
    pthread_sigmask(SIG_BLOCK, &caught, NULL);
    waiting = pthread_create(&waiter, NULL, wait_for_stop, NULL) == 0;
    if (!waiting) pthread_sigmask(SIG_UNBLOCK, &caught, NULL); /* the handler on any thread, as before */
    return &stop_requested;
}

void stop_signals_restore(void)
{
    if (waiting) {
        pthread_cancel(waiter); /* sigwait is a cancellation point */
        pthread_join(waiter, NULL);
        waiting = 0;
        /* one that came meanwhile goes to the handler, still installed; the team's threads keep
         * them blocked, and a signal sent to the process goes to this thread first */
        pthread_sigmask(SIG_UNBLOCK, &caught, NULL);
    }
    for (int i = 0; i < N_SIGS; i++) sigaction(stop_sigs[i], &previous[i], NULL);
}

const char *stop_signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal";
}
