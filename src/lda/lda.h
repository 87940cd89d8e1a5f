/*
 * lda.h - the sluice command: subcommand entry points.
 */
#ifndef SLUICE_LDA_H
#define SLUICE_LDA_H

/* Each returns a sysexits.h status. argv[0] is the subcommand name. */
int cmd_deliver(int argc, char **argv);

#endif
