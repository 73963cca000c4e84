/* stop_signals.c — see stop_signals.h. */
#include "stop_signals.h"

#include <string.h>

static const int stop_sigs[] = {SIGINT, SIGTERM, SIGHUP};
enum { N_SIGS = sizeof stop_sigs / sizeof *stop_sigs };

/* A signal handler can only reach static storage: this flag is the one piece of it. */
static volatile sig_atomic_t stop_requested;
static struct sigaction previous[N_SIGS];

static void on_stop_signal(int sig)
{
    if (stop_requested) { /* the second one: no more waiting */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_requested = sig;
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
    for (int i = 0; i < N_SIGS; i++) {
        sigaction(stop_sigs[i], NULL, &previous[i]);
        /* a signal ignored when the program started stays ignored (nohup, background jobs of
         * non-interactive shells): the caller asked for it not to stop the run */
        if (previous[i].sa_handler != SIG_IGN) sigaction(stop_sigs[i], &sa, NULL);
    }
    return &stop_requested;
}

void stop_signals_restore(void)
{
    for (int i = 0; i < N_SIGS; i++) sigaction(stop_sigs[i], &previous[i], NULL);
}

const char *stop_signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal";
}
