/*
 * fuzz-procmailrc.c - libFuzzer target for the procmailrc parser and the
 * procmail regex dialect. rc files are hostile input (users write them,
 * and sluice runs whatever they hold): any crash, leak, sanitizer report
 * or timeout is a bug.
 *
 * The first byte picks what the rest of the input is:
 *   0..191    an rc file: pm_parse(), then every regex the parser
 *             compiled is run against a fixed message (header and body),
 *             as a condition would be, MATCH included
 *   192..255  one regex: pm_re_compile() with flags from the low bits,
 *             then pm_re_exec() against the same message
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -I BUILD \
 *	    tests/fuzz/fuzz-procmailrc.c src/rules/procmailrc/ *.c \
 *	    src/msg/ *.c src/lib/ *.c -lpcre2-8 -o fuzz-procmailrc
 *	./fuzz-procmailrc -max_total_time=180 CORPUS tests/fuzz/seeds-procmailrc
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rules/procmailrc/procmailrc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A message as procmail holds it: From_ line, header, empty line, body. */
static const char msg_head[] =
    "From list-bounces@lists.example.org  Thu Jan  1 00:00:00 2024\n"
    "Return-Path: <list-bounces@lists.example.org>\n"
    "Received: from mx.example.org (mx.example.org [192.0.2.1])\n"
    "\tby mail.example.com (Postfix) with ESMTP id 4F2A1\n"
    "From: \"Alice Example\" <alice@example.org>\n"
    "To: bob@example.com, \"Carol\" <carol@example.net>\n"
    "Cc: team@lists.example.org\n"
    "Subject: [team] Re: weekly report (draft)\n"
    "List-Id: Team discussion <team.lists.example.org>\n"
    "X-Spam-Status: No, score=-1.2 required=5.0 tests=BAYES_00\n"
    "X-Mailer: Mutt/2.2\n"
    "Message-ID: <20240101000000.GA1@example.org>\n"
    "\n";
static const char msg_body[] =
    "Hi Bob,\n\n"
    "the draft is attached. From now on, please send it by Friday.\n"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\n"
    "-- \nAlice\n";

/* Cap on the work one input may cause: regex runs per rc file. */
#define FUZZ_MAX_EXECS	256

struct runner {
	unsigned execs;
};

static void
run_re(struct runner *rn, const struct pm_re *re, int body)
{
	struct err e;
	const char *m = NULL;
	size_t mlen = 0;
	const char *subj = body ? msg_body : msg_head;
	size_t len = body ? sizeof msg_body - 1 : sizeof msg_head - 1;
	int r;

	if (rn->execs++ >= FUZZ_MAX_EXECS)
		return;
	memset(&e, 0, sizeof e);
	r = pm_re_exec(re, subj, len, &m, &mlen, &e);
	/* The contract: a MATCH points into the subject. */
	if (r == 1 && mlen > 0 &&
	    (m < subj || mlen > len || m > subj + (len - mlen)))
		__builtin_trap();
	(void)pm_re_has_match(re);
}

/* Walk the tree; the parser bounds nesting at PM_MAX_NESTING, the depth
 * check here only keeps a parser bug from becoming a stack overflow in
 * the harness instead of a finding. */
static void
walk(struct runner *rn, const struct pm_node *n, unsigned depth)
{
	size_t i;

	if (depth > PM_MAX_NESTING + 1)
		__builtin_trap();
	for (; n != NULL; n = n->next) {
		if (n->kind != PM_RECIPE)
			continue;
		for (i = 0; i < n->nconds; i++)
			if (n->conds[i].re != NULL)
				run_re(rn, n->conds[i].re,
				    (n->flags & PMF_B) != 0);
		if (n->action == PMA_NEST)
			walk(rn, n->children, depth + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct runner rn = { 0 };

	if (size == 0)
		return 0;
	if (data[0] < 192) {
		struct pm_diags d;
		struct pm_file *f = NULL;

		pm_diags_init(&d);
		if (pm_parse("fuzz.rc", (const char *)data + 1, size - 1, &d,
		    &f) == 0) {
			if (f == NULL)
				__builtin_trap();
			walk(&rn, f->nodes, 0);
		} else if (f != NULL || d.errors == 0)
			__builtin_trap();	/* -1 means errors, no file */
		pm_file_free(&f);
		pm_diags_free(&d);
	} else {
		struct pm_re *re = NULL;
		struct err e;
		size_t off = 0;
		unsigned flags = data[0] & (PM_RE_CASELESS | PM_RE_MACROS);

		memset(&e, 0, sizeof e);
		if (pm_re_compile((const char *)data + 1, size - 1, flags, &re,
		    &off, &e) == 0) {
			run_re(&rn, re, 0);
			rn.execs = 0;
			run_re(&rn, re, 1);
			pm_re_free(&re);
		} else if (off > size - 1)
			__builtin_trap();	/* offset inside the pattern */
		if (re != NULL)
			__builtin_trap();
	}
	return 0;
}
