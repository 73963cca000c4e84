/* commands.h — the subcommands of `nndl`, each taking its own argv (argv[0] = the command). */
#ifndef NNDL_COMMANDS_H
#define NNDL_COMMANDS_H

#include "build_info.h"
#include "check_report.h"

int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_export(int argc, char **argv);

/* `nndl check` after its flags are parsed; create makes the instances it checks (backend_create;
 * the tests pass one that plants a wrong op); the table goes to out. Returns the exit status. */
typedef struct CheckOptions {
    const char *device;         /* cpu, cuda or all */
    CheckSelection sel;
} CheckOptions;
int check_command_run(const CheckOptions *o, BackendCreate create, FILE *out);

#endif
