/*
 * ext-vacation.c - RFC 5230 "vacation" and RFC 6131 "vacation-seconds":
 *
 *	vacation [:days n | :seconds n] [:subject s] [:from s]
 *	    [:addresses l] [:mime] [:handle s] reason
 *
 * Pigeonhole decides at commit time whether a reply is due; we decide at
 * run time (the same checks, in its order) so that `sluice test` shows it,
 * and the executor (src/deliver/sendmail.c) only checks the store again,
 * sends and records. The action is in the result either way, as in
 * Pigeonhole (it counts for "one vacation per script" and the action
 * limit, and `sluice test` lists it as sieve-test does); when no reply is
 * due it is handed over ACT_SKIPPED with the reason (action.h), listed
 * as "(not sent: reason)" and never sent. No reply is due when:
 * the envelope sender is <>; it is one of the user's own addresses; the
 * message carries a List-* header (list-id, -owner, -subscribe, -post,
 * -unsubscribe, -help, -archive); Auto-Submitted is not "no"; Precedence
 * is junk, bulk or list; the sender looks like a daemon (MAILER-DAEMON*,
 * LISTSERV*, majordomo*, *-request@*, owner-*); or none of the user's
 * addresses (final recipient; original recipient with
 * sieve_vacation_use_original_recipient; :addresses) is in To, Cc, Bcc,
 * Resent-To, Resent-Cc or Resent-Bcc (RFC 5230 4.5; off with
 * sieve_vacation_dont_check_recipient). Pigeonhole does not look at
 * X-Auto-Response-Suppress; neither do we.
 *
 * Tracking (RFC 5230 4.2): the reply is remembered per sender and handle.
 * The default handle is Pigeonhole's: the reason, subject and from as
 * written in the script (unexpanded) plus whether :mime is given. The
 * store key is "sieve-vacation:" + a digest of the recipient, the
 * lower-cased sender and the handle; the period is :days * 86400 or
 * :seconds, else sieve_vacation_default_period, clamped to
 * [sieve_vacation_min_period, sieve_vacation_max_period (0: none)].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../lib/conf.h"
#include "../../lib/log.h"
#include "sieve-int.h"

#define VAC_MAX_DAYS	(10L * 366)	/* cap before multiplying */

enum { VAC_DAYS = 1, VAC_SECONDS, VAC_SUBJECT, VAC_FROM, VAC_ADDRESSES,
	VAC_MIME, VAC_HANDLE };

static const struct sv_tag vac_tags[] = {
	{ "days", SV_P_NUM, SV_G_OWN, VAC_DAYS },
	{ "subject", SV_P_STR, SV_G_OWN, VAC_SUBJECT },
	{ "from", SV_P_STR, SV_G_OWN, VAC_FROM },
	{ "addresses", SV_P_LIST, SV_G_OWN, VAC_ADDRESSES },
	{ "mime", SV_P_NONE, SV_G_OWN, VAC_MIME },
	{ "handle", SV_P_STR, SV_G_OWN, VAC_HANDLE },
	{ NULL, 0, 0, 0 },
};

void
sieve_reply_conf_init(struct sieve_reply_conf *c)
{
	memset(c, 0, sizeof *c);
	c->vacation_min_period = 86400;
	c->vacation_max_period = 0;
	c->vacation_default_period = 7 * 86400;
	/* Pigeonhole's code (ext-duplicate-common.c); its documentation
	 * says 14d and 7d, which is not what it does. */
	c->duplicate_default_period = 12 * 3600;
	c->duplicate_max_period = 2 * 86400;
}

const struct sieve_reply_conf *
sv_reply_conf(const struct sv_rctx *r, struct sieve_reply_conf *tmp)
{
	const struct conf *c = r->env->conf;

	if (r->env->reply != NULL)
		return r->env->reply;
	sieve_reply_conf_init(tmp);
	if (c != NULL) {
		tmp->vacation_min_period = c->sieve_vacation_min_period;
		tmp->vacation_max_period = c->sieve_vacation_max_period;
		tmp->vacation_default_period = c->sieve_vacation_default_period;
		tmp->vacation_dont_check_recipient =
		    c->sieve_vacation_dont_check_recipient;
		tmp->vacation_use_original_recipient =
		    c->sieve_vacation_use_original_recipient;
		tmp->duplicate_default_period = c->sieve_duplicate_default_period;
		tmp->duplicate_max_period = c->sieve_duplicate_max_period;
	}
	return tmp;
}

/* Does s hold an RFC 5322 mailbox: "addr" or "phrase <addr>", addr being
 * local@domain without spaces or controls? */
static int
mailbox_ok(const char *s)
{
	const char *a = strchr(s, '<'), *e, *at;
	size_t i, n;

	if (a != NULL) {
		if ((e = strchr(a, '>')) == NULL || e[1] != '\0')
			return 0;
		a++;
		n = (size_t)(e - a);
	} else {
		a = s;
		n = strlen(s);
	}
	at = memchr(a, '@', n);
	if (n == 0 || n > 998 || at == NULL || at == a || at == a + n - 1)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c <= 32 || c == 127 || c == '<' || c == '>' || c == ',' ||
		    c == ';' || c == '(' || c == ')' || c == '\\' || c == '"')
			return 0;
	}
	return memchr(at + 1, '@', (size_t)(a + n - at - 1)) == NULL;
}

static int
vac_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_tagval *d = sv_node_tag(n, "days");
	const struct sv_tagval *s = sv_node_tag(n, "seconds");
	const struct sv_tagval *f = sv_node_tag(n, "from");
	const struct sv_tagval *sub = sv_node_tag(n, "subject");
	const struct sv_tagval *a = sv_node_tag(n, "addresses");
	const struct sv_str *reason = &n->pos_args[0]->v[0];
	struct buf h = BUF_INIT;
	size_t i;

	/* RFC 6131 2: :days and :seconds are mutually exclusive */
	if (d != NULL && s != NULL) {
		sv_verror(v, s->at->pos, "vacation command: the :days and "
		    ":seconds arguments are mutually exclusive");
		return -1;
	}
	/* RFC 5230 4.4: :from must be a valid mailbox */
	if (f != NULL && !f->param->v[0].vars && !mailbox_ok(f->param->v[0].s)) {
		sv_verror(v, f->param->pos, "specified :from address '%s' is "
		    "invalid for vacation action", f->param->v[0].s);
		return -1;
	}
	for (i = 0; a != NULL && i < a->param->n; i++)
		if (!a->param->v[i].vars && !mailbox_ok(a->param->v[i].s)) {
			sv_verror(v, a->param->v[i].pos, "specified :addresses "
			    "item '%s' is invalid for vacation action",
			    a->param->v[i].s);
			return -1;
		}
	/* Pigeonhole's default handle, from the strings as written. */
	if (sv_node_tag(n, "handle") == NULL) {
		buf_add(&h, reason->s, reason->len);
		if (sub != NULL)
			buf_add(&h, sub->param->v[0].s, sub->param->v[0].len);
		else
			buf_adds(&h, "<default-subject>");
		if (f != NULL)
			buf_add(&h, f->param->v[0].s, f->param->v[0].len);
		else
			buf_adds(&h, "<default-from>");
		buf_adds(&h, sv_node_tag(n, "mime") ? "<MIME>" : "<NO-MIME>");
		n->data = arena_strndup(v->arena, h.data, h.len);
		buf_free(&h);
	}
	return 0;
}

/* The address part of "phrase <addr>" or "addr" (arena). */
static const char *
bare(struct sv_rctx *r, const char *s)
{
	const char *lt = strchr(s, '<'), *gt;

	if (lt != NULL && (gt = strchr(lt, '>')) != NULL)
		return arena_strndup(r->arena, lt + 1, (size_t)(gt - lt - 1));
	return s;
}

static int
has_request(const char *a)
{
	for (; *a != '\0'; a++)
		if (strncasecmp(a, "-request@", 9) == 0)
			return 1;
	return 0;
}

static int
is_system_address(const char *a)
{
	/* Pigeonhole's list (cmd-vacation.c _is_system_address) */
	return strncasecmp(a, "MAILER-DAEMON", 13) == 0 ||
	    strncasecmp(a, "LISTSERV", 8) == 0 ||
	    strncasecmp(a, "majordomo", 9) == 0 ||
	    has_request(a) ||
	    strncasecmp(a, "owner-", 6) == 0;
}

/* Is me among the addresses of any field name? */
static int
header_has(struct sv_rctx *r, const char *name, const char *me)
{
	size_t i, k, na, nlen = strlen(name);

	for (i = 0; i < r->msg->nhdrs; i++) {
		const struct hdr *h = &r->msg->hdrs[i];
		struct addr *v;

		if (h->name.len != nlen || strncasecmp(h->name.p, name, nlen))
			continue;
		na = addr_parse_list(r->arena, h->value, &v);
		for (k = 0; k < na; k++) {
			size_t ll;

			if (v[k].local == NULL || v[k].domain == NULL)
				continue;
			ll = strlen(v[k].local);
			if (strncasecmp(me, v[k].local, ll) == 0 &&
			    me[ll] == '@' &&
			    strcasecmp(me + ll + 1, v[k].domain) == 0)
				return 1;
		}
	}
	return 0;
}

/* Why no reply is due, or NULL; *from_out: the user's address found in
 * the headers (Pigeonhole's reply From when :from is absent). */
static const char *
no_reply(struct sv_rctx *r, const char *sender, const char *const *me,
    size_t nme, const struct sieve_reply_conf *c, const char **from_out)
{
	static const char *const list_hdrs[] = { "List-Id", "List-Owner",
	    "List-Subscribe", "List-Post", "List-Unsubscribe", "List-Help",
	    "List-Archive" };
	static const char *const my_hdrs[] = { "To", "Cc", "Bcc",
	    "Resent-To", "Resent-Cc", "Resent-Bcc" };
	const struct hdr *h;
	size_t i, k;
	int idx;

	*from_out = NULL;
	if (sender == NULL || sender[0] == '\0' || !strcmp(sender, "<>"))
		return "discarded vacation reply to <>";
	for (i = 0; i < nme; i++)
		if (strcasecmp(sender, me[i]) == 0)
			return "discarded vacation reply to own address";
	for (i = 0; i < sizeof list_hdrs / sizeof list_hdrs[0]; i++)
		if (hdr_find(r->msg, list_hdrs[i], 0) != NULL)
			return "discarding vacation response to mailinglist "
			    "recipient";
	/* RFC 5230 4.6 / RFC 3834 2 */
	for (idx = 0; (h = hdr_find(r->msg, "Auto-Submitted", idx)) != NULL;
	    idx++)
		if (strcasecmp(hdr_unfold(r->arena, h->value), "no") != 0)
			return "discarding vacation response to auto-submitted "
			    "message";
	for (idx = 0; (h = hdr_find(r->msg, "Precedence", idx)) != NULL;
	    idx++) {
		const char *p = hdr_unfold(r->arena, h->value);

		if (!strcasecmp(p, "junk") || !strcasecmp(p, "bulk") ||
		    !strcasecmp(p, "list"))
			return "discarding vacation response to precedence "
			    "junk/bulk/list message";
	}
	if (is_system_address(sender))
		return "not sending vacation response to system address";
	/* RFC 5230 4.5: only mail explicitly addressed to the user */
	for (k = 0; k < sizeof my_hdrs / sizeof my_hdrs[0]; k++)
		for (i = 0; i < nme; i++)
			if (header_has(r, my_hdrs[k], me[i])) {
				*from_out = me[i];
				return NULL;
			}
	if (c->vacation_dont_check_recipient) {
		*from_out = nme > 0 ? me[nme > 1 && c->
		    vacation_use_original_recipient ? 1 : 0] : NULL;
		return NULL;
	}
	return "discarding vacation response for message implicitly "
	    "delivered";
}

static long
vac_period(const struct sv_node *n, const struct sieve_reply_conf *c)
{
	const struct sv_tagval *d = sv_node_tag(n, "days");
	const struct sv_tagval *s = sv_node_tag(n, "seconds");
	long p = c->vacation_default_period;

	if (d != NULL)
		p = (d->param->num > (uint64_t)VAC_MAX_DAYS ? VAC_MAX_DAYS :
		    (long)d->param->num) * 86400;
	else if (s != NULL)
		p = s->param->num > (uint64_t)VAC_MAX_DAYS * 86400 ?
		    VAC_MAX_DAYS * 86400 : (long)s->param->num;
	if (p < c->vacation_min_period)
		p = c->vacation_min_period;
	else if (c->vacation_max_period > 0 && p > c->vacation_max_period)
		p = c->vacation_max_period;
	/* 0 ("reply every time", RFC 6131 2) cannot be a store TTL (the
	 * executor reads 0 as its default): one second is as good. */
	return p > 0 ? p : 1;
}

static int
vac_run(struct sv_rctx *r, const struct sv_node *n)
{
	const struct sv_tagval *t;
	struct sieve_reply_conf def;
	const struct sieve_reply_conf *c = sv_reply_conf(r, &def);
	const char *reason = sv_pos_str(r, n, 0), *sender = r->env->sender;
	const char *me[2 + SV_MAX_STRLIST], **list, *why, *found, *from = NULL;
	const char *handle, *parts[3];
	struct action *a;
	char hex[33], *lsender;
	struct buf key = BUF_INIT;
	size_t nme = 0, i, cnt;

	/* RFC 5230 4.7 and Pigeonhole: one vacation per result (due or
	 * not), none next to reject. */
	for (i = r->res.start; i < r->res.l->n; i++)
		if (r->res.l->v[i].type == ACT_VACATION)
			return sv_rerror(r, n, "duplicate vacation action not "
			    "allowed");
	if (r->res.rejected)
		return sv_rerror(r, n, "vacation action conflicts with other "
		    "action: the reject action sends a response already");
	if ((t = sv_node_tag(n, "from")) != NULL) {
		from = sv_str_expand(r, &t->param->v[0]);
		if (!mailbox_ok(from))
			return sv_rerror(r, n, "specified :from address '%s' "
			    "is invalid for vacation action", from);
	}
	if (sender == NULL)
		sender = "";
	if (r->env->recipient == NULL || r->env->recipient[0] == '\0') {
		why = "vacation action aborted: envelope recipient is <>";
		found = NULL;
	} else {
		me[nme++] = r->env->recipient;
		if (c->vacation_use_original_recipient &&
		    r->env->orig_recipient && r->env->orig_recipient[0] != '\0')
			me[nme++] = r->env->orig_recipient;
		if ((t = sv_node_tag(n, "addresses")) != NULL) {
			cnt = sv_arg_list(r, t->param, &list);
			for (i = 0; i < cnt && nme < sizeof me / sizeof me[0];
			    i++)
				me[nme++] = bare(r, list[i]);
		}
		why = no_reply(r, sender, me, nme, c, &found);
	}

	if ((a = sv_action_add(r, n, ACT_VACATION, reason, 0)) == NULL)
		return -1;
	a->period = vac_period(n, c);
	a->mime = sv_node_tag(n, "mime") != NULL;
	if ((t = sv_node_tag(n, "subject")) != NULL) {
		const char *s = sv_str_expand(r, &t->param->v[0]);

		if (s[0] != '\0')
			a->subject = xstrdup(s);
	}
	if (why != NULL) {
		char q[256];

		a->status = ACT_SKIPPED;
		err_set(&a->err, ERR_PERM, "%s", why);
		sv_trace(r, n, "%s%s%s%s", why, sender[0] ? " <" : "",
		    sender, sender[0] ? ">" : "");
		log_info("sieve: %s%s%s%s", why, sender[0] ? " <" : "",
		    log_quote(q, sizeof q, sender, strlen(sender)),
		    sender[0] ? ">" : "");
		return 0;
	}

	/* RFC 5230 4.2: tracked per sender and handle */
	t = sv_node_tag(n, "handle");
	handle = t ? sv_str_expand(r, &t->param->v[0]) : (const char *)n->data;
	lsender = arena_strdup(r->arena, sender);
	for (i = 0; lsender[i] != '\0'; i++)
		if (lsender[i] >= 'A' && lsender[i] <= 'Z')
			lsender[i] = (char)(lsender[i] + 32);
	parts[0] = r->env->recipient;
	parts[1] = lsender;
	parts[2] = handle ? handle : "";
	sv_digest_hex(parts, 3, hex);
	buf_addf(&key, "sieve-vacation:%s", hex);
	if (from != NULL)
		a->from = xstrdup(from);
	else if (found != NULL)
		a->from = xstrdup(found);
	a->to = xstrdup(sender);
	a->handle = buf_steal(&key);
	sv_trace(r, n, "vacation reply to <%s> due (period %lds)", sender,
	    a->period);
	return 0;
}

static const struct sv_cmd vacation_cmds[] = {
	{ .name = "vacation", .kind = SV_COMMAND, .sig = "s",
	  .tags = vac_tags, .validate = vac_validate, .run = vac_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_vacation = {
	.name = "vacation", .cmds = vacation_cmds,
};

/* RFC 6131: requiring "vacation-seconds" implies "vacation" (as
 * Pigeonhole), so the command is listed here too; :seconds is added to
 * it either way. */
static const struct sv_tag_add vacsec_adds[] = {
	{ "vacation", { "seconds", SV_P_NUM, SV_G_OWN, VAC_SECONDS } },
	{ NULL, { NULL, 0, 0, 0 } },
};

const struct sv_ext sv_ext_vacation_seconds = {
	.name = "vacation-seconds", .cmds = vacation_cmds, .tags = vacsec_adds,
};
