/*
 * action.c - the action list.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/limits.h"
#include "action.h"

void
actions_init(struct action_list *l)
{
	memset(l, 0, sizeof *l);
	l->implicit_keep = 1;
}

void
action_clear(struct action *a)
{
	size_t k;

	free(a->arg);
	free(a->value);
	free(a->result);
	free(a->subject);
	free(a->from);
	free(a->to);
	free(a->handle);
	if (a->argv != NULL) {
		for (k = 0; a->argv[k] != NULL; k++)
			free(a->argv[k]);
		free(a->argv);
	}
	if (a->keywords != NULL) {
		for (k = 0; a->keywords[k] != NULL; k++)
			free(a->keywords[k]);
		free(a->keywords);
	}
	memset(a, 0, sizeof *a);
}

void
actions_free(struct action_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		action_clear(&l->v[i]);
	free(l->v);
	actions_init(l);
}

struct action *
actions_add(struct action_list *l, enum act_type type, const char *arg,
    const char *origin)
{
	struct action *a;

	if (l->n >= ACTION_MAX)
		return NULL;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	a = &l->v[l->n++];
	memset(a, 0, sizeof *a);
	a->type = type;
	a->arg = arg ? xstrdup(arg) : NULL;
	a->origin = origin;
	switch (type) {
	case ACT_KEEP:
	case ACT_FILEINTO:
	case ACT_DISCARD:
	case ACT_REDIRECT:
	case ACT_REJECT:
	case ACT_EREJECT:
	case ACT_MBOX:
		/* RFC 5228 2.10.2; :copy (RFC 3894) undoes this by hand. */
		l->implicit_keep = 0;
		break;
	default:
		break;
	}
	return a;
}

void
action_set_keywords(struct action *a, const char *const *kw)
{
	size_t n = 0, i;

	while (kw != NULL && kw[n] != NULL)
		n++;
	a->keywords = xcalloc(n + 1, sizeof *a->keywords);
	for (i = 0; i < n; i++)
		a->keywords[i] = xstrdup(kw[i]);
}

const char *
action_type_name(enum act_type t)
{
	static const char *const names[] = {
		[ACT_KEEP] = "keep", [ACT_FILEINTO] = "fileinto",
		[ACT_DISCARD] = "discard", [ACT_REDIRECT] = "redirect",
		[ACT_PIPE] = "pipe", [ACT_FILTER] = "filter",
		[ACT_REJECT] = "reject", [ACT_EREJECT] = "ereject",
		[ACT_VACATION] = "vacation", [ACT_ADDHEADER] = "addheader",
		[ACT_DELETEHEADER] = "deleteheader", [ACT_MBOX] = "mbox",
		[ACT_NOTIFY] = "notify", [ACT_STORE_MARK] = "mark",
	};

	return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

const char *
action_status_name(enum act_status s)
{
	static const char *const names[] = {
		[ACT_PENDING] = "pending", [ACT_DONE] = "done",
		[ACT_FAILED] = "failed", [ACT_SKIPPED] = "skipped",
		[ACT_UNSUPPORTED] = "unsupported",
	};

	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

void
flags_to_maildir(unsigned flags, char *buf)
{
	/* Maildir info "2," letters must be in ASCII order. */
	char *p = buf;

	if (flags & FLAG_DRAFT)
		*p++ = 'D';
	if (flags & FLAG_FLAGGED)
		*p++ = 'F';
	if (flags & FLAG_ANSWERED)
		*p++ = 'R';
	if (flags & FLAG_SEEN)
		*p++ = 'S';
	if (flags & FLAG_DELETED)
		*p++ = 'T';
	*p = '\0';
}
