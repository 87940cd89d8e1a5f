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
	{ "procmail", cmd_procmail, "procmail's command line (also as a \"procmail\" symlink)" },
	{ "convert", cmd_convert, "translate a .procmailrc into an equivalent Sieve script" },
	{ "score", cmd_score, "score a message (--explain, --filter: a spamc drop-in, --lint)" },
	{ "learn", cmd_learn, "train the Bayes store with --spam/--ham from files, mbox or Maildir" },
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
	const char *base;
	size_t i;

	/* Under procmail's name (a symlink in Postfix's mailbox_command):
	 * procmail's command line, not ours. */
	if (argc > 0 && argv[0] != NULL) {
		base = strrchr(argv[0], '/');
		base = base ? base + 1 : argv[0];
		if (strcmp(base, "procmail") == 0)
			return cmd_procmail(argc, argv);
	}
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
