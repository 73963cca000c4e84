/* commands.h — the subcommands of `nndl`, each taking its own argv (argv[0] = the command). */
#ifndef NNDL_COMMANDS_H
#define NNDL_COMMANDS_H

int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);

#endif
