/*
 * sendmail.c - outbound mail: Sieve redirect, reject (MDN), vacation and
 * enotify mailto, all submitted through the local sendmail with an argv:
 *
 *	sendmail -i -f FROM -- RCPT...
 *
 * FROM "<>" is the null sender (Dovecot passes it so; Postfix's sendmail
 * parses -f as an address, and "<>" and "" both give the null sender).
 * Messages are composed with LF line ends, which sendmail -i accepts.
 * Text from the message or the script never reaches a shell, and header
 * values go through edit_field() (no CR/LF injection, RFC 2047 when
 * non-ASCII).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../lib/limits.h"
#include "../lib/log.h"
#include "../store/store.h"
#include "deliver.h"


static int
is_null_sender(const char *s)
{
	return s == NULL || s[0] == '\0' || strcmp(s, "<>") == 0;
}

int
sendmail_addr_ok(const char *addr)
{
	size_t i;

	if (addr == NULL || addr[0] == '\0' || addr[0] == '-' ||
	    strlen(addr) > 998)
		return 0;
	for (i = 0; addr[i] != '\0'; i++) {
		unsigned char c = (unsigned char)addr[i];

		/* sendmail re-parses recipients as RFC 822 address lists */
		if (c <= 32 || c == 127 || c == ',' || c == '<' || c == '>' ||
		    c == '(' || c == ')' || c == ';' || c == '"' || c == '\\')
			return 0;
	}
	return strchr(addr, '@') != NULL;
}

static const char *
postmaster(struct deliver_ctx *d, char *buf, size_t size)
{
	const char *at;

	if (d->postmaster_address != NULL && d->postmaster_address[0] != '\0')
		return d->postmaster_address;
	/* Pigeonhole's default: postmaster@%d (the recipient's domain) */
	at = d->recipient ? strrchr(d->recipient, '@') : NULL;
	(void)snprintf(buf, size, "postmaster@%s", at ? at + 1 :
	    (d->host ? d->host : "localhost"));
	return buf;
}

static void
add_date(struct buf *b)
{
	char s[64];
	time_t t = time(NULL);
	struct tm tm;

	/* RFC 5322 3.3 (the C locale gives English names) */
	if (localtime_r(&t, &tm) != NULL &&
	    strftime(s, sizeof s, "%a, %d %b %Y %H:%M:%S %z", &tm) > 0)
		buf_addf(b, "Date: %s\n", s);
}

static void
add_message_id(struct buf *b, struct deliver_ctx *d)
{
	unsigned long long r = 0;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r = (unsigned long long)time(NULL) ^
		    ((unsigned long long)getpid() << 32);
	buf_addf(b, "Message-ID: <sluice.%lld.%ld.%016llx@%s>\n",
	    (long long)time(NULL), (long)getpid(), r,
	    d->host ? d->host : "localhost");
}

/* Unfolded, decoded value of the first field name, or NULL. */
static const char *
hval(struct deliver_ctx *d, const char *name, int decode)
{
	const struct hdr *h = hdr_find(d->msg, name, 0);

	if (h == NULL)
		return NULL;
	return decode ? hdr_decode(d->msg->arena, h->value) :
	    hdr_unfold(d->msg->arena, h->value);
}

/* "<a@b>" or "a@b" -> a@b into out; 0 if nothing address-like. */
static int
bare_addr(const char *v, char *out, size_t size)
{
	const char *lt = strchr(v, '<'), *gt;
	size_t n;

	while (*v == ' ' || *v == '\t')
		v++;
	if (lt != NULL && (gt = strchr(lt, '>')) != NULL) {
		v = lt + 1;
		n = (size_t)(gt - v);
	} else {
		n = strcspn(v, " \t");
	}
	if (n == 0 || n >= size)
		return 0;
	memcpy(out, v, n);
	out[n] = '\0';
	return 1;
}

/* Does any field name of the message carry address addr? */
static int
header_has_addr(struct deliver_ctx *d, const char *name, const char *addr)
{
	size_t i, nlen = strlen(name);
	char a[1024];

	for (i = 0; i < d->msg->nhdrs; i++) {
		const struct hdr *h = &d->msg->hdrs[i];

		if (!mem_ieq(h->name.p, h->name.len, name, nlen))
			continue;
		if (bare_addr(hdr_unfold(d->msg->arena, h->value), a,
		    sizeof a) && strcasecmp(a, addr) == 0)
			return 1;
	}
	return 0;
}

const char *const *
deliver_prog_env(struct deliver_ctx *d, const char **env, char *s1, char *s2,
    size_t size)
{
	size_t n = 0;

	if (d->prog_env != NULL)
		return d->prog_env;
	env[n++] = "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	(void)snprintf(s1, size, "SENDER=%s", d->sender ? d->sender : "");
	env[n++] = s1;
	(void)snprintf(s2, size, "RECIPIENT=%s", d->recipient ?
	    d->recipient : "");
	env[n++] = s2;
	env[n] = NULL;
	return env;
}

int
sendmail_send(struct deliver_ctx *d, const char *env_from,
    const char *const *rcpts, const char *head, size_t head_len, off_t off,
    const char *tail, size_t tail_len, struct err *e)
{
	struct program_opts o;
	struct program_result r;
	const char *argv[6 + DELIVER_NOTIFY_MAX_RCPT + 1], *env[4];
	char s1[1100], s2[1100], how[64], q[256];
	size_t n = 0, k;
	int ret = -1;

	argv[n++] = d->sendmail_path ? d->sendmail_path : DELIVER_SENDMAIL;
	argv[n++] = "-i";
	argv[n++] = "-f";
	argv[n++] = is_null_sender(env_from) ? "<>" : env_from;
	argv[n++] = "--";
	if (!is_null_sender(env_from) && !sendmail_addr_ok(env_from))
		return err_status(e, ERR_PERM, "5.1.7",
		    "invalid envelope sender for sendmail");
	for (k = 0; rcpts[k] != NULL; k++) {
		if (k >= DELIVER_NOTIFY_MAX_RCPT)
			return err_status(e, ERR_PERM, "5.5.3",
			    "too many recipients");
		if (!sendmail_addr_ok(rcpts[k]))
			return err_status(e, ERR_PERM, "5.1.3",
			    "invalid recipient address \"%s\"", log_quote(q,
			    sizeof q, rcpts[k], strlen(rcpts[k])));
		argv[n++] = rcpts[k];
	}
	argv[n] = NULL;
	if (k == 0)
		return err_status(e, ERR_PERM, "5.5.3", "no recipients");

	program_opts_init(&o);
	o.argv = argv;
	o.envp = deliver_prog_env(d, env, s1, s2, sizeof s1);
	o.head = head;
	o.head_len = head_len;
	if (off >= 0) {
		o.in_fd = d->spool_fd;
		o.in_off = off;
	}
	o.tail = tail;
	o.tail_len = tail_len;
	o.out_cap = 4096;
	o.timeout = DELIVER_SENDMAIL_TIMEOUT;
	if (program_run(&o, &r, e) == -1) {
		/* could not even start it: a configuration problem, which
		 * retrying will not fix (the failure policy keeps the mail) */
		e->cls = ERR_PERM;
		program_result_free(&r);
		return -1;
	}
	if (program_ok(&r)) {
		ret = 0;
	} else {
		/* sysexits: 75 is "try again later"; so is our timeout */
		int temp = r.timed_out || r.signaled ||
		    (r.exited && r.status == 75);

		err_status(e, temp ? ERR_TEMP : ERR_PERM, temp ? "4.3.0" :
		    "5.3.0", "%s: %s%s%s", argv[0], program_describe(&r, how,
		    sizeof how), r.err.len ? ": " : "", r.err.len ?
		    log_quote(q, sizeof q, r.err.data, r.err.len) : "");
	}
	program_result_free(&r);
	return ret;
}

static void
set_result(struct action *a, enum act_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_result(struct action *a, enum act_status st, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(a->result);
	a->result = buf_steal(&b);
	a->status = st;
}

static int
fail(struct action *a, struct err *e)
{
	char q[128];

	a->status = ACT_FAILED;
	a->err = *e;
	log_err("%s %s failed: %s", action_type_name(a->type),
	    log_quote(q, sizeof q, a->arg ? a->arg : "", a->arg ?
	    strlen(a->arg) : 0), e->msg);
	return -1;
}

/* ---- redirect ---- */

int
sendmail_redirect(struct deliver_ctx *d, struct action *a, struct err *e)
{
	static const char *const hide[] = { "Return-Path", "X-Sieve",
	    "X-Sieve-Redirected-From" };
	struct buf old = BUF_INIT, head = BUF_INIT, key = BUF_INIT;
	const char *rcpts[2] = { a->arg, NULL }, *id, *resent;
	const char *orig = d->orig_recipient ? d->orig_recipient : d->recipient;
	off_t off = 0;
	size_t i, pos;
	int ret = -1;

	if (!sendmail_addr_ok(a->arg)) {
		err_status(e, ERR_PERM, "5.1.3", "invalid redirect address");
		return fail(a, e);
	}
	/* Loops: the target already had this message (Postfix's
	 * Delivered-To), or redirected it to us. */
	if (header_has_addr(d, "Delivered-To", a->arg) ||
	    header_has_addr(d, "X-Sieve-Redirected-From", a->arg) ||
	    (d->recipient && strcasecmp(a->arg, d->recipient) == 0)) {
		err_status(e, ERR_PERM, "5.4.6", "mail loop: not redirecting "
		    "to an address the message came through");
		return fail(a, e);
	}
	/* Pigeonhole's duplicate id: message-id, original recipient,
	 * target, resent-message-id or resent-from. */
	id = hval(d, "Message-ID", 0);
	resent = hval(d, "Resent-Message-ID", 0);
	if (resent == NULL)
		resent = hval(d, "Resent-From", 0);
	if (id != NULL || resent != NULL)
		buf_addf(&key, "sieve-redirect:%s-%s-%s-%s", id ? id : "",
		    orig ? orig : "", a->arg, resent ? resent : "");
	if (key.len > 0 && d->store != NULL) {
		struct buf val = BUF_INIT;
		struct err se;
		int r = store_get(d->store, (struct span){ key.data, key.len },
		    &val, &se);

		buf_free(&val);
		if (r == 1) {
			set_result(a, ACT_SKIPPED, "duplicate: already "
			    "redirected to %s", a->arg);
			log_info("discarded duplicate redirect to %s", a->arg);
			ret = 0;
			goto out;
		}
		if (r == -1)
			log_err("store: %s (redirect duplicate check skipped)",
			    se.msg);
	}

	/* Pigeonhole: drop Return-Path and our own trace fields, prepend
	 * X-Sieve and X-Sieve-Redirected-From (the final recipient). */
	buf_adds(&head, "X-Sieve: sluice\n");
	if (d->recipient != NULL && sendmail_addr_ok(d->recipient))
		buf_addf(&head, "X-Sieve-Redirected-From: %s\n", d->recipient);
	if (deliver_read_head(d, &old, MSG_MAX_HEADER_BYTES + 2, e) == 0) {
		for (pos = 0; pos < old.len;) {
			const char *p = old.data + pos;
			const char *nl;
			size_t end = pos, hit = 0;

			/* one field with its continuation lines */
			do {
				nl = memchr(old.data + end, '\n', old.len - end);
				end = nl ? (size_t)(nl - old.data) + 1 : old.len;
			} while (p[0] != '\n' && end < old.len &&
			    (old.data[end] == ' ' || old.data[end] == '\t'));
			for (i = 0; p[0] != '\n' && i < sizeof hide /
			    sizeof hide[0]; i++) {
				size_t hl = strlen(hide[i]);

				if (end - pos > hl && strncasecmp(p, hide[i],
				    hl) == 0 && (p[hl] == ':' || p[hl] == ' ' ||
				    p[hl] == '\t'))
					hit = 1;
			}
			if (!hit)
				buf_add(&head, p, end - pos);
			pos = end;
		}
		off = (off_t)old.len;
	} else if (e->cls == ERR_PERM) {
		err_clear(e);	/* huge header: send it unfiltered */
		off = 0;
	} else {
		fail(a, e);
		goto out;
	}
	if (d->dry_run) {
		set_result(a, ACT_DONE, "dry run: would redirect to %s "
		    "(envelope from <%s>)", a->arg, is_null_sender(d->sender) ?
		    "" : d->sender);
		ret = 0;
		goto out;
	}
	/* Envelope sender: the original one (sieve_redirect_envelope_from
	 * = sender, Pigeonhole's default). */
	if (sendmail_send(d, d->sender, rcpts, head.data, head.len, off, NULL,
	    0, e) == -1) {
		fail(a, e);
		goto out;
	}
	set_result(a, ACT_DONE, "redirected to %s", a->arg);
	log_info("forwarded to <%s>", a->arg);
	if (key.len > 0 && d->store != NULL) {
		struct err se;

		if (store_set(d->store, (struct span){ key.data, key.len },
		    SPAN_LIT("1"), DELIVER_REDIRECT_DUP_TTL, &se) == -1)
			log_err("store: %s (redirect not remembered)", se.msg);
	}
	ret = 0;
out:
	buf_free(&old);
	buf_free(&head);
	buf_free(&key);
	return ret;
}

/* ---- bodies ---- */

/* RFC 2045 6.7 quoted-printable of text (LF line ends kept as breaks). */
static void
qp_encode(struct buf *out, const char *p, size_t len)
{
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		int enc;
		size_t w;

		if (c == '\n') {
			buf_addc(out, '\n');
			col = 0;
			continue;
		}
		enc = c == '=' || c >= 127 || (c < 32 && c != '\t') ||
		    ((c == ' ' || c == '\t') && (i + 1 == len || p[i + 1] == '\n'));
		w = enc ? 3 : 1;
		if (col + w > 75) {
			buf_adds(out, "=\n");	/* soft line break */
			col = 0;
		}
		if (enc)
			buf_addf(out, "=%02X", c);
		else
			buf_addc(out, c);
		col += w;
	}
}

/* Text with CRLF -> LF, ending in LF. */
static void
add_text(struct buf *out, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (!(s[0] == '\r' && s[1] == '\n'))
			buf_addc(out, *s);
	if (out->len == 0 || out->data[out->len - 1] != '\n')
		buf_addc(out, '\n');
}

/* MIME headers and body for a text/plain UTF-8 part. */
static void
add_text_part(struct buf *out, const char *text)
{
	struct buf t = BUF_INIT;
	size_t i, col = 0;
	int plain = 1;

	add_text(&t, text);
	for (i = 0; i < t.len; i++) {
		unsigned char c = (unsigned char)t.data[i];

		if (c >= 127 || (c < 32 && c != '\t' && c != '\n'))
			plain = 0;
		col = c == '\n' ? 0 : col + 1;
		if (col > 998)
			plain = 0;
	}
	buf_adds(out, "Content-Type: text/plain; charset=utf-8\n");
	buf_addf(out, "Content-Transfer-Encoding: %s\n\n", plain ? "7bit" :
	    "quoted-printable");
	if (plain)
		buf_add(out, t.data, t.len);
	else
		qp_encode(out, t.data, t.len);
	buf_free(&t);
}

/* A From: value: an address, or a display name (encoded if need be)
 * followed by <address>. */
static void
add_from(struct buf *out, const char *from)
{
	const char *lt = strchr(from, '<');
	size_t i;
	int eightbit = 0;

	for (i = 0; from[i] != '\0'; i++)
		if ((unsigned char)from[i] >= 0x80)
			eightbit = 1;
	if (lt != NULL && lt > from && eightbit) {
		char *name = xstrndup(from, (size_t)(lt - from));
		size_t n = strlen(name);

		while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
			name[--n] = '\0';
		edit_field(out, "From", name);
		out->len--;	/* reopen the line */
		buf_addf(out, " %s\n", lt);
		free(name);
		return;
	}
	if (lt == NULL && strchr(from, '@') != NULL && strchr(from, ' ') == NULL)
		buf_addf(out, "From: <%s>\n", from);
	else
		edit_field(out, "From", from);
}

/* ---- reject (RFC 5429 2.2, an MDN as RFC 3798 describes) ---- */

int
sendmail_reject(struct deliver_ctx *d, struct action *a, struct err *e)
{
	struct buf m = BUF_INIT, tail = BUF_INIT, txt = BUF_INIT;
	const char *rcpts[2] = { d->sender, NULL }, *id;
	const char *orig = d->orig_recipient ? d->orig_recipient : d->recipient;
	char pm[300], boundary[320];
	int ret = -1;

	/* Never answer the null sender (bounces of bounces). */
	if (is_null_sender(d->sender)) {
		set_result(a, ACT_SKIPPED, "rejected; no MDN to the null sender");
		log_info("discarded rejection MDN to <>");
		return 0;
	}
	(void)snprintf(boundary, sizeof boundary, "%lld/%ld/%s",
	    (long long)time(NULL), (long)getpid(), d->unique[0] ?
	    d->unique : "sluice");
	id = hval(d, "Message-ID", 0);

	buf_adds(&m, "X-Sieve: sluice\n");
	add_message_id(&m, d);
	add_date(&m);
	/* Pigeonhole's header block: a fixed Subject, no In-Reply-To. */
	buf_addf(&m, "From: Postmaster <%s>\n", postmaster(d, pm, sizeof pm));
	buf_addf(&m, "To: <%s>\n", d->sender);
	buf_adds(&m, "Subject: Automatically rejected mail\n");
	buf_adds(&m, "Auto-Submitted: auto-replied (rejected)\n");
	buf_adds(&m, "Precedence: bulk\n");
	buf_adds(&m, "MIME-Version: 1.0\n");
	buf_addf(&m, "Content-Type: multipart/report; "
	    "report-type=disposition-notification;\n\tboundary=\"%s\"\n\n",
	    boundary);
	buf_adds(&m, "This is a MIME-encapsulated message\n\n");

	/* 1: the reason for humans */
	buf_addf(&m, "--%s\n", boundary);
	buf_addf(&txt, "Your message to <%s> was automatically rejected:\n",
	    d->recipient ? d->recipient : "");
	add_text(&txt, a->arg ? a->arg : "rejected");
	buf_adds(&m, "Content-Disposition: inline\n");
	add_text_part(&m, txt.data);

	/* 2: the machine-readable disposition (RFC 3798 3.1, 3.2.6) */
	buf_addf(&m, "\n--%s\n", boundary);
	buf_adds(&m, "Content-Type: message/disposition-notification\n\n");
	buf_addf(&m, "Reporting-UA: %s; sluice\n", d->host ? d->host :
	    "localhost");
	if (orig != NULL && sendmail_addr_ok(orig))
		buf_addf(&m, "Original-Recipient: rfc822; %s\n", orig);
	if (d->recipient != NULL && sendmail_addr_ok(d->recipient))
		buf_addf(&m, "Final-Recipient: rfc822; %s\n", d->recipient);
	if (id != NULL)
		edit_field(&m, "Original-Message-ID", id);
	buf_adds(&m, "Disposition: automatic-action/MDN-sent-automatically; "
	    "deleted\n");

	/* 3: the original message, as stored */
	buf_addf(&m, "\n--%s\n", boundary);
	buf_adds(&m, "Content-Type: message/rfc822\n\n");
	buf_addf(&tail, "\n--%s--\n", boundary);

	if (d->dry_run) {
		set_result(a, ACT_DONE, "dry run: would send a rejection MDN "
		    "to %s (envelope from <>)", d->sender);
		ret = 0;
		goto out;
	}
	if (sendmail_send(d, "<>", rcpts, m.data, m.len, 0, tail.data,
	    tail.len, e) == -1) {
		fail(a, e);
		goto out;
	}
	set_result(a, ACT_DONE, "rejection MDN sent to %s", d->sender);
	log_info("rejected; MDN sent to <%s>", d->sender);
	ret = 0;
out:
	buf_free(&m);
	buf_free(&tail);
	buf_free(&txt);
	return ret;
}

/* ---- vacation (RFC 5230 5, RFC 3834) ---- */

int
sendmail_vacation(struct deliver_ctx *d, struct action *a, struct err *e)
{
	struct buf m = BUF_INIT, key = BUF_INIT, val = BUF_INIT;
	const char *to = a->to ? a->to : d->sender, *subj, *id, *refs, *as;
	const char *rcpts[2] = { to, NULL };
	struct err se;
	long ttl = a->period > 0 ? a->period : 7 * 86400L;
	int ret = -1, r;

	if (is_null_sender(to)) {
		set_result(a, ACT_SKIPPED, "no vacation reply to <>");
		return 0;
	}
	if (!sendmail_addr_ok(to)) {
		set_result(a, ACT_SKIPPED, "no vacation reply to an invalid "
		    "address");
		return 0;
	}
	/* RFC 3834 2: never answer automatic mail (the rules check this
	 * too; it costs nothing to be sure). */
	if ((as = hval(d, "Auto-Submitted", 0)) != NULL &&
	    strncasecmp(as, "no", 2) != 0) {
		set_result(a, ACT_SKIPPED, "no vacation reply to "
		    "auto-submitted mail");
		return 0;
	}
	/* The store key (action.h): the rules' handle, else one of ours. */
	if (a->handle != NULL && a->handle[0] != '\0')
		buf_adds(&key, a->handle);
	else
		buf_addf(&key, "sieve-vacation:%s:%s", d->recipient ?
		    d->recipient : "", to);
	if (d->store == NULL) {
		if (!d->dry_run) {
			set_result(a, ACT_SKIPPED, "no state store: vacation "
			    "reply not sent (it could not be remembered)");
			log_err("vacation: no state store, reply to <%s> "
			    "skipped", to);
			ret = 0;
			goto out;
		}
	} else {
		r = store_get(d->store, (struct span){ key.data, key.len },
		    &val, &se);
		if (r == -1) {
			set_result(a, ACT_SKIPPED, "state store unavailable: "
			    "vacation reply not sent");
			log_err("vacation: store: %s; reply to <%s> skipped",
			    se.msg, to);
			ret = 0;
			goto out;
		}
		if (r == 1) {
			set_result(a, ACT_SKIPPED, "already replied to %s", to);
			log_info("discarded duplicate vacation response to "
			    "<%s>", to);
			ret = 0;
			goto out;
		}
	}

	subj = hval(d, "Subject", 1);
	id = hval(d, "Message-ID", 0);
	refs = hval(d, "References", 0);
	buf_adds(&m, "X-Sieve: sluice\n");
	add_message_id(&m, d);
	add_date(&m);
	if (a->from != NULL && a->from[0] != '\0')
		add_from(&m, a->from);
	else if (d->recipient != NULL && sendmail_addr_ok(d->recipient))
		buf_addf(&m, "From: <%s>\n", d->recipient);
	else {
		char pm[300];

		buf_addf(&m, "From: Postmaster <%s>\n",
		    postmaster(d, pm, sizeof pm));
	}
	buf_addf(&m, "To: <%s>\n", to);
	if (a->subject != NULL && a->subject[0] != '\0') {
		edit_field(&m, "Subject", a->subject);
	} else {
		/* RFC 5230 5.5: "Auto:" and the original subject */
		struct buf s = BUF_INIT;

		if (subj != NULL && subj[0] != '\0')
			buf_addf(&s, "Auto: %s", subj);
		else
			buf_adds(&s, "Automated reply");
		edit_field(&m, "Subject", s.data);
		buf_free(&s);
	}
	/* RFC 5230 5.8: In-Reply-To and References */
	if (id != NULL) {
		edit_field(&m, "In-Reply-To", id);
		if (refs != NULL) {
			struct buf rb = BUF_INIT;

			buf_addf(&rb, "%s %s", refs, id);
			edit_field(&m, "References", rb.data);
			buf_free(&rb);
		} else {
			edit_field(&m, "References", id);
		}
	} else if (refs != NULL) {
		edit_field(&m, "References", refs);
	}
	/* RFC 5230 5.6 / RFC 3834 5 */
	buf_adds(&m, "Auto-Submitted: auto-replied (vacation)\n");
	buf_adds(&m, "Precedence: bulk\n");
	buf_adds(&m, "MIME-Version: 1.0\n");
	if (a->mime) {
		/* RFC 5230 4.6: :mime: the reason is a MIME entity, headers
		 * included; it follows our header as is (LF line ends). */
		add_text(&m, a->arg ? a->arg : "");
	} else {
		add_text_part(&m, a->arg ? a->arg : "");
	}

	if (d->dry_run) {
		set_result(a, ACT_DONE, "dry run: would send a vacation reply "
		    "to %s (envelope from <>)", to);
		ret = 0;
		goto out;
	}
	/* RFC 5230 5.1 / RFC 3834 3.3: the reply's envelope sender is <> */
	if (sendmail_send(d, "<>", rcpts, m.data, m.len, -1, NULL, 0, e) == -1) {
		fail(a, e);
		goto out;
	}
	set_result(a, ACT_DONE, "vacation reply sent to %s", to);
	log_info("sent vacation response to <%s>", to);
	if (store_set(d->store, (struct span){ key.data, key.len },
	    SPAN_LIT("1"), ttl, &se) == -1)
		log_err("vacation: store: %s (reply to <%s> not remembered)",
		    se.msg, to);
	ret = 0;
out:
	buf_free(&m);
	buf_free(&key);
	buf_free(&val);
	return ret;
}

/* ---- enotify mailto (RFC 5436) ---- */

static int
hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 6068 percent-decoding of p[0..len) (NUL bytes refused). */
static char *
pct_decode(const char *p, size_t len)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '%' && i + 2 < len && hexv(p[i + 1]) >= 0 &&
		    hexv(p[i + 2]) >= 0) {
			int c = hexv(p[i + 1]) * 16 + hexv(p[i + 2]);

			if (c != 0)
				buf_addc(&b, c);
			i += 2;
		} else {
			buf_addc(&b, p[i]);
		}
	}
	buf_addc(&b, '\0');
	b.len--;
	return buf_steal(&b);
}

/* Split a comma-separated address list into v (owned strings). */
static void
add_addrs(char **v, size_t *n, size_t max, const char *list, int *bad)
{
	const char *p = list;

	while (*p != '\0') {
		size_t l = strcspn(p, ",");
		char *a = xstrndup(p, l), *s = a, *t;

		while (*s == ' ')
			s++;
		t = s + strlen(s);
		while (t > s && t[-1] == ' ')
			*--t = '\0';
		if (*s != '\0') {
			if (*n >= max || !sendmail_addr_ok(s))
				*bad = 1;
			else
				v[(*n)++] = xstrdup(s);
		}
		free(a);
		p += l;
		if (*p == ',')
			p++;
	}
}

int
sendmail_notify(struct deliver_ctx *d, struct action *a, struct err *e)
{
	char *to[DELIVER_NOTIFY_MAX_RCPT + 1], *cc[DELIVER_NOTIFY_MAX_RCPT + 1];
	char *usubj = NULL, *ubody = NULL, *path, pm[300], env_from[1000];
	const char *uri = a->arg ? a->arg : "", *q, *as, *subj;
	const char *rcpts[DELIVER_NOTIFY_MAX_RCPT + 1];
	size_t nto = 0, ncc = 0, i, n = 0;
	struct buf m = BUF_INIT;
	int bad = 0, ret = -1;

	if (strncasecmp(uri, "mailto:", 7) != 0) {
		set_result(a, ACT_UNSUPPORTED, "notification method not "
		    "supported");
		err_status(&a->err, ERR_PERM, "5.5.1", "notify method %s is "
		    "not supported", uri);
		log_err("%s", a->err.msg);
		return 0;
	}
	/* RFC 5436 2.7: never notify about automatic mail. */
	if ((as = hval(d, "Auto-Submitted", 0)) != NULL &&
	    strncasecmp(as, "no", 2) != 0) {
		set_result(a, ACT_SKIPPED, "no notification for "
		    "auto-submitted mail");
		return 0;
	}
	/* mailto:addr1,addr2?to=..&cc=..&subject=..&body=.. (RFC 6068) */
	uri += 7;
	q = strchr(uri, '?');
	path = pct_decode(uri, q ? (size_t)(q - uri) : strlen(uri));
	add_addrs(to, &nto, DELIVER_NOTIFY_MAX_RCPT, path, &bad);
	free(path);
	while (q != NULL && *q != '\0') {
		const char *f = q + 1, *eq, *amp;
		size_t fl;

		amp = strchr(f, '&');
		fl = amp ? (size_t)(amp - f) : strlen(f);
		eq = memchr(f, '=', fl);
		if (eq != NULL) {
			size_t nl = (size_t)(eq - f);
			char *v = pct_decode(eq + 1, fl - nl - 1);

			if (mem_ieq(f, nl, "to", 2))
				add_addrs(to, &nto, DELIVER_NOTIFY_MAX_RCPT, v,
				    &bad);
			else if (mem_ieq(f, nl, "cc", 2))
				add_addrs(cc, &ncc, DELIVER_NOTIFY_MAX_RCPT, v,
				    &bad);
			else if (mem_ieq(f, nl, "subject", 7) && usubj == NULL)
				usubj = v, v = NULL;
			else if (mem_ieq(f, nl, "body", 4) && ubody == NULL)
				ubody = v, v = NULL;
			/* other header fields (bcc, from, ...) are ignored:
			 * RFC 5436 2.2 leaves them to the implementation */
			free(v);
		}
		q = amp;
	}
	if (bad || nto + ncc == 0 || nto + ncc > DELIVER_NOTIFY_MAX_RCPT) {
		err_status(e, ERR_PERM, "5.1.3", "bad or too many mailto "
		    "recipients");
		fail(a, e);
		ret = 0;	/* no effect on the delivery */
		goto out;
	}
	for (i = 0; i < nto; i++)
		rcpts[n++] = to[i];
	for (i = 0; i < ncc; i++)
		rcpts[n++] = cc[i];
	rcpts[n] = NULL;

	subj = hval(d, "Subject", 1);
	buf_adds(&m, "X-Sieve: sluice\n");
	add_message_id(&m, d);
	add_date(&m);
	/* RFC 5436 2.3: From is :from (as written, as Pigeonhole does),
	 * else ours (postmaster_address); so is the envelope sender. */
	if (a->from != NULL && a->from[0] != '\0' &&
	    bare_addr(a->from, env_from, sizeof env_from) &&
	    sendmail_addr_ok(env_from)) {
		if (strchr(a->from, '<') == NULL)
			edit_field(&m, "From", a->from);
		else
			add_from(&m, a->from);
	} else {
		(void)snprintf(env_from, sizeof env_from, "%s",
		    postmaster(d, pm, sizeof pm));
		buf_addf(&m, "From: Postmaster <%s>\n", env_from);
	}
	for (i = 0; i < nto; i++)
		buf_addf(&m, i == 0 ? "To: %s" : ",\n %s", to[i]);
	if (nto > 0)
		buf_addc(&m, '\n');
	for (i = 0; i < ncc; i++)
		buf_addf(&m, i == 0 ? "Cc: %s" : ",\n %s", cc[i]);
	if (ncc > 0)
		buf_addc(&m, '\n');
	if (a->subject != NULL && a->subject[0] != '\0')
		edit_field(&m, "Subject", a->subject);
	else if (usubj != NULL && usubj[0] != '\0')
		edit_field(&m, "Subject", usubj);
	else {
		/* RFC 5436 2.7: a default naming the message */
		struct buf s = BUF_INIT;

		buf_addf(&s, "[SIEVE] New mail notification%s%s",
		    subj ? ": " : "", subj ? subj : "");
		edit_field(&m, "Subject", s.data);
		buf_free(&s);
	}
	/* RFC 5436 2.7: Auto-Submitted: auto-notified, naming the owner */
	if (d->recipient != NULL && sendmail_addr_ok(d->recipient))
		buf_addf(&m, "Auto-Submitted: auto-notified; "
		    "owner-email=\"%s\"\n", d->recipient);
	else
		buf_adds(&m, "Auto-Submitted: auto-notified\n");
	buf_adds(&m, "Precedence: bulk\n");
	if (a->index == 1)
		buf_adds(&m, "X-Priority: 1 (Highest)\nImportance: High\n");
	else if (a->index == 3)
		buf_adds(&m, "X-Priority: 5 (Lowest)\nImportance: Low\n");
	else
		buf_adds(&m, "X-Priority: 3 (Normal)\nImportance: Normal\n");
	buf_adds(&m, "MIME-Version: 1.0\n");
	add_text_part(&m, a->value && a->value[0] ? a->value : ubody && ubody[0] ?
	    ubody : "Notification of new message.");

	if (d->dry_run) {
		set_result(a, ACT_DONE, "dry run: would notify %s%s "
		    "(envelope from <%s>)", rcpts[0], n > 1 ? ",..." : "",
		    env_from);
		ret = 0;
		goto out;
	}
	if (sendmail_send(d, env_from, rcpts, m.data, m.len, -1, NULL, 0,
	    e) == -1) {
		fail(a, e);
		ret = 0;	/* logged; the delivery goes on */
		err_clear(e);
		goto out;
	}
	set_result(a, ACT_DONE, "notification sent to %s%s", rcpts[0],
	    n > 1 ? ",..." : "");
	ret = 0;
out:
	for (i = 0; i < nto; i++)
		free(to[i]);
	for (i = 0; i < ncc; i++)
		free(cc[i]);
	free(usubj);
	free(ubody);
	buf_free(&m);
	return ret;
}
