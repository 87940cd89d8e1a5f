/*
 * action.h - what rules decide. Rules (Sieve, procmailrc, or the LDA's
 * default "keep" / -m FOLDER) never act: they append to an action list,
 * and the delivery layer (deliver_run() in src/deliver) carries it out and
 * records each outcome in the action itself.
 */
#ifndef SLUICE_ACTION_H
#define SLUICE_ACTION_H

#include <stddef.h>

#include "../lib/err.h"

enum act_type {
	ACT_KEEP,		/* store in INBOX */
	ACT_FILEINTO,		/* store in folder (arg) */
	ACT_DISCARD,		/* cancel the implicit keep, store nothing */
	ACT_REDIRECT,		/* forward to address (arg) */
	ACT_PIPE,		/* run program (arg) with the message on stdin */
	ACT_FILTER,		/* replace the message by program's output */
	ACT_REJECT,		/* refuse with a message (arg): sends an MDN */
	ACT_EREJECT,		/* refuse at protocol level (arg): exit 77 */
	ACT_VACATION,		/* auto-reply (arg: reason) */
	ACT_ADDHEADER,		/* add header (name: value) */
	ACT_DELETEHEADER,	/* delete header (name) */
	ACT_MBOX,		/* append to an mbox file (arg: path) */
	ACT_NOTIFY,		/* enotify (arg: method URI, value: message) */
	ACT_STORE_MARK,		/* remember arg in the store for ttl seconds
				 * once the delivery is committed (duplicate) */
};

/* Outcome of one action after deliver_run(). */
enum act_status {
	ACT_PENDING = 0,	/* not executed yet */
	ACT_DONE,		/* carried out */
	ACT_FAILED,		/* failed; a fallback may have taken over */
	ACT_SKIPPED,		/* not carried out on purpose (duplicate...) */
	ACT_UNSUPPORTED,	/* this build cannot carry it out */
};

/* Maildir flags of a stored message (RFC 3501 system flags). */
#define FLAG_SEEN	0x01	/* S */
#define FLAG_ANSWERED	0x02	/* R */
#define FLAG_FLAGGED	0x04	/* F */
#define FLAG_DELETED	0x08	/* T */
#define FLAG_DRAFT	0x10	/* D */

struct action {
	enum act_type type;
	char *arg;		/* folder, address, program, header name... */
	char *value;		/* header value, vacation subject... */
	unsigned flags;		/* FLAG_* for keep/fileinto */
	char **keywords;	/* custom IMAP keywords, NULL-terminated or NULL */
	unsigned create:1;	/* fileinto :create: make the folder */
	unsigned copy:1;	/* :copy: does not cancel implicit keep */
	unsigned subscribe:1;	/* subscribe a folder this action creates */
	unsigned last:1;	/* addheader :last */
	unsigned mime:1;	/* vacation :mime: arg is a MIME entity */
	unsigned may_fail:1;	/* pipe :try: a failure is not an error */
	const char *origin;	/* "file:line" of the rule, or NULL */

	/*
	 * Action-specific fields (NULL/0 when unused; all owned):
	 *   ACT_ADDHEADER	arg name, value value, last
	 *   ACT_DELETEHEADER	arg name, index: 1-based occurrence among the
	 *			fields of that name at the time of the edit
	 *			(edits apply in list order), 0 = all; with
	 *			last, index counts from the last one
	 *   ACT_VACATION	arg reason, subject, from, to (the reply's
	 *			recipient, decided by the rules), handle: the
	 *			full state-store key of this reply (the rules
	 *			build it, e.g. from recipient, sender and
	 *			:handle), period: its TTL in seconds; mime.
	 *			The executor skips the reply when the key is
	 *			present, sends, then sets it for period
	 *			seconds (no store: no reply). The rules may
	 *			hand it over already ACT_SKIPPED, the reason
	 *			in err (no reply due, RFC 5230 4.5): it is
	 *			listed, never sent
	 *   ACT_REDIRECT	arg address, copy
	 *   ACT_REJECT/EREJECT	arg reason
	 *   ACT_PIPE/FILTER	arg program name, argv (NULL-terminated args)
	 *   ACT_NOTIFY		arg method URI, value message, from, subject,
	 *			importance in index (1..3), to: the URI's
	 *			recipients, comma-separated (for listing)
	 *   ACT_STORE_MARK	arg store key, period ttl seconds
	 */
	char *subject;
	char *from;
	char *to;
	char *handle;
	char **argv;
	long period;
	int index;

	/* Set by the executor (the rules may preset ACT_SKIPPED, above). */
	enum act_status status;
	struct err err;		/* why it failed */
	char *result;		/* where it went (path of the stored file) */
};

struct action_list {
	struct action *v;
	size_t n, cap;
	int implicit_keep;	/* RFC 5228 2.10.2: on unless cancelled */
};

void actions_init(struct action_list *l);
void actions_free(struct action_list *l);
/* Free what one action owns and zero it. */
void action_clear(struct action *a);
/*
 * Append an action (arg copied; may be NULL). Returns it, or NULL when
 * ACTION_MAX is reached. keep/fileinto/discard/redirect/reject/ereject
 * (without :copy) cancel the implicit keep, as RFC 5228 2.10.2 says.
 */
struct action *actions_add(struct action_list *l, enum act_type type,
    const char *arg, const char *origin);
/* Copy of keywords (NULL-terminated) attached to a. */
void action_set_keywords(struct action *a, const char *const *kw);

const char *action_type_name(enum act_type t);
const char *action_status_name(enum act_status s);
/* Maildir info letters for flags, in ASCII order ("FRS"). buf >= 6. */
void flags_to_maildir(unsigned flags, char *buf);

#endif
