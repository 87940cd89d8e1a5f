/*
 * main.c - the sluice command: dispatch to subcommands.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "lda.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} cmds[] = {
	{ "deliver", cmd_deliver, "deliver a message from stdin (Postfix mailbox_command)" },
	{ "check", cmd_check, "compile rule files, report errors as file:line:col" },
	{ "test", cmd_test, "dry run: the actions and a trace for messages" },
	{ "testsuite", cmd_testsuite, "run Sieve tests (vnd.dovecot.testsuite *.svtest)" },
};

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: sluice COMMAND [options]\n\ncommands:\n");
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(fp, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(fp, "\nsee sluice(1)\n");
}

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("sluice %s\n", PACKAGE_VERSION);
		return EX_OK;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return EX_OK;
	}
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "sluice: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return EX_USAGE;
}
