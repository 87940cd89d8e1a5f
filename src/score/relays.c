/*
 * relays.c - Received: fields into SpamAssassin's relay structures and the
 * X-Spam-Relays-* pseudo-headers (Message/Metadata/Received.pm).
 *
 * SpamAssassin has about a hundred MTA-specific patterns; this parser
 * covers the shapes that make up nearly all real traffic (Postfix,
 * sendmail, Exim, qmail, Microsoft, generic "[ip]") with the same
 * prologue (id, helo=, by, auth from "with ESMTPA"...) and the same
 * output rules (unknown rdns dropped, "IPv6:" stripped, odd characters
 * as "!"). What it cannot parse is skipped, as SpamAssassin skips an
 * unparseable line. The milter's connection, when given, is the first
 * (newest) relay, as if our own MTA had written its Received: field.
 * Trust follows SpamAssassin without trusted_networks: relays stay
 * trusted while their IP is private or they authenticated.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "score-int.h"

#define RELAYS_MAX		64	/* Received: fields parsed */
#define RELAYS_MAX_LINE		4096	/* bytes of one field considered */
#define RELAYS_MAX_TOKEN	256	/* bytes of one extracted value */
#define RELAYS_NORIG		6	/* originating_ip_headers */

static int
is_sp(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
all_digits(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return n > 0;
}

/*
 * Received.pm: the date at the very end goes, as
 * s/[\s;]+(?:(?:Mon|T(?:ue|hu)|Wed|Fri|S(?:at|un)), )?\d+ MONTH \d+
 * \d+:\d+(?::\d+)? \S+$//; a date followed by more ("(EST)") stays.
 * Returns the new length.
 */
static size_t
strip_date(const char *s, size_t n)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	size_t e = n, t[5], tl[5], k, b;

	/* the last five space-separated tokens: day month year time zone */
	for (k = 5; k-- > 0;) {
		size_t st = e;

		while (st > 0 && s[st - 1] != ' ')
			st--;
		if (st == e || st == 0)
			return n;
		t[k] = st;
		tl[k] = e - st;
		e = st - 1;
	}
	if (!all_digits(s + t[0], tl[0]) || tl[1] != 3 ||
	    !all_digits(s + t[2], tl[2]))
		return n;
	for (k = 0; k < 12; k++)
		if (memcmp(s + t[1], months + 3 * k, 3) == 0)
			break;
	if (k == 12)
		return n;
	/* \d+:\d+(?::\d+)? */
	{
		const char *p = s + t[3], *q = p + tl[3];
		size_t parts = 0;

		while (p < q) {
			size_t d = 0;

			while (p + d < q && p[d] >= '0' && p[d] <= '9')
				d++;
			if (d == 0)
				return n;
			p += d;
			parts++;
			if (p < q && *p == ':')
				p++;
			else if (p < q)
				return n;
		}
		if (parts < 2 || parts > 3 || q[-1] == ':')
			return n;
	}
	b = t[0];
	/* optional "Dow, " */
	if (b >= 6 && s[b - 1] == ' ' && s[b - 2] == ',') {
		static const char *const dow[] = { "Mon", "Tue", "Thu", "Wed",
		    "Fri", "Sat", "Sun" };

		for (k = 0; k < 7; k++)
			if (memcmp(s + b - 5, dow[k], 3) == 0)
				break;
		if (k < 7)
			b -= 5;
	}
	/* [\s;]+ before it, all of them */
	if (b == 0 || (s[b - 1] != ' ' && s[b - 1] != ';'))
		return n;
	while (b > 0 && (s[b - 1] == ' ' || s[b - 1] == ';'))
		b--;
	return b;
}

/* Collapse whitespace, trim, drop trailing ";" and the date. */
static size_t
normalise(const char *p, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;
	int sp = 1;

	for (i = 0; i < n && o + 1 < cap; i++) {
		if (is_sp((unsigned char)p[i])) {
			if (!sp)
				out[o++] = ' ';
			sp = 1;
		} else {
			out[o++] = p[i];
			sp = 0;
		}
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	/* 1 while s/\s?;$// */
	while (o > 0 && out[o - 1] == ';') {
		o--;
		if (o > 0 && out[o - 1] == ' ')
			o--;
	}
	out[o] = '\0';
	o = strip_date(out, o);
	out[o] = '\0';
	return o;
}

static int
ipv4_at(const char *s, size_t *len)
{
	size_t k = 0;
	int parts = 0;

	while (parts < 4) {
		size_t d = 0;
		unsigned v = 0;

		while (s[k] >= '0' && s[k] <= '9' && d < 4) {
			v = v * 10 + (unsigned)(s[k] - '0');
			k++;
			d++;
		}
		if (d == 0 || d > 3 || v > 255)
			return 0;
		if (++parts < 4) {
			if (s[k] != '.')
				return 0;
			k++;
		}
	}
	*len = k;
	return 1;
}

static int
ipv6_at(const char *s, size_t *len)
{
	size_t k = 0;
	int colons = 0;

	while ((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f') ||
	    (s[k] >= 'A' && s[k] <= 'F') || s[k] == ':' || s[k] == '.') {
		if (s[k] == ':')
			colons++;
		k++;
	}
	if (colons < 2)
		return 0;
	*len = k;
	return 1;
}

/* An IP inside "[...]" (optionally "IPv6:"), from p on. */
static const char *
bracket_ip(struct arena *a, const char *p, const char **end)
{
	const char *q;
	size_t l;

	for (q = strchr(p, '['); q != NULL; q = strchr(q + 1, '[')) {
		const char *s = q + 1;

		if (strncasecmp(s, "IPv6:", 5) == 0)
			s += 5;
		if ((ipv4_at(s, &l) || ipv6_at(s, &l)) && s[l] == ']') {
			if (end != NULL)
				*end = s + l + 1;
			return arena_strndup(a, s, l);
		}
	}
	return NULL;
}

/* Copy a token, odd characters as "!" (SpamAssassin's $strip_chars). */
static char *
tok(struct arena *a, const char *p, size_t n)
{
	char *t;
	size_t i;

	if (n > RELAYS_MAX_TOKEN)
		n = RELAYS_MAX_TOKEN;
	t = arena_strndup(a, p, n);
	for (i = 0; i < n; i++)
		if (strchr(" \t#[]()<>|", t[i]) != NULL || t[i] == '\0')
			t[i] = '!';
	return t;
}

static size_t
word_len(const char *p, const char *stop)
{
	size_t n = 0;

	while (p[n] != '\0' && p[n] != ' ' && strchr(stop, p[n]) == NULL)
		n++;
	return n;
}

static int
ip_private(const char *ip)
{
	unsigned a, b;

	if (strchr(ip, ':') != NULL)
		return strcmp(ip, "::1") == 0 || strncasecmp(ip, "fe80:", 5) == 0
		    || strncasecmp(ip, "fc", 2) == 0 ||
		    strncasecmp(ip, "fd", 2) == 0;
	if (sscanf(ip, "%u.%u", &a, &b) != 2)
		return 0;
	/* Constants.pm IP_PRIVATE */
	return a == 10 || a == 127 || (a == 172 && b >= 16 && b <= 31) ||
	    (a == 192 && b == 168) || (a == 169 && b == 254) ||
	    (a == 100 && b >= 64 && b <= 127);
}

/* localhost, localhost.localdomain, 127.0.0.1, ::1 at p; its length. */
static size_t
localhost_at(const char *p)
{
	static const char *const lh[] = { "localhost.localdomain",
	    "localhost", "127.0.0.1", "::1", NULL };
	size_t i;

	for (i = 0; lh[i] != NULL; i++)
		if (strncasecmp(p, lh[i], strlen(lh[i])) == 0)
			return strlen(lh[i]);
	return 0;
}

/* Received.pm's localhost handovers (after "from "):
 *   LH (ident@LH) / LH (LH [   |   W (ident@LH)    |   W (x@y [LH]) */
static int
local_handover(const char *p)
{
	size_t n = word_len(p, ""), k;
	const char *q = p + n, *r, *at;

	if (strncmp(q, " (", 2) != 0)
		return 0;
	r = q + 2;
	k = word_len(r, ")[");
	at = memchr(r, '@', k);
	if (at != NULL) {
		k -= (size_t)(at + 1 - r);
		r = at + 1;
	}
	if (localhost_at(p) == n && (k = localhost_at(r)) > 0 &&
	    (r[k] == ')' || r[k] == '['))
		return 1;
	if ((k = localhost_at(r)) > 0 && r[k] == ')' && r[k + 1] == ' ')
		return 1;
	/* "W (x@y [LH]) " is skipped only when the sendmail shape
	 * "W (x@y [ip]) by W (" does not parse it first. */
	if (at != NULL) {
		const char *b = strchr(r, ' ');

		if (b != NULL && b[1] == '[' && (k = localhost_at(b + 2)) > 0 &&
		    b[2 + k] == ']' && b[3 + k] == ')' &&
		    strncmp(b + 4 + k, " by ", 4) != 0)
			return 1;
	}
	return 0;
}

/* Received.pm: /authenticated/ && /^from .*?(?:\](?: \([^)]*\))?\)|\)\])
 * .*?\(.*?authenticated.*?\).*? by/ (sendmail, MDaemon, webmail) */
static int
sendmail_auth(const char *line)
{
	const char *p, *q, *c;

	if (strstr(line, "authenticated") == NULL)
		return 0;
	for (p = line; (p = strpbrk(p, "])")) != NULL; p++) {
		const char *e = NULL;

		if (p[0] == ']' && p[1] == ')' && p[2] == ' ')
			e = p + 3;
		else if (p[0] == ')' && p[1] == ']' && p[2] == ' ')
			e = p + 3;
		else if (p[0] == ']' && p[1] == ' ' && p[2] == '(' &&
		    (c = strchr(p + 3, ')')) != NULL && c[1] == ')' &&
		    c[2] == ' ' && memchr(p + 3, '(', (size_t)(c - p - 3)) ==
		    NULL)
			e = c + 3;
		if (e == NULL)
			continue;
		for (q = strchr(e, '('); q != NULL; q = strchr(q + 1, '(')) {
			const char *au = strstr(q, "authenticated");

			if (au == NULL)
				break;
			if ((c = strchr(au, ')')) != NULL &&
			    strstr(c, " by") != NULL)
				return 1;
		}
	}
	return 0;
}

/* (?:return-path:? |envelope-(?:sender|from)[ =])(\S+)\b, then the
 * angle brackets trimmed */
static void
envelope_from(struct arena *a, const char *line, struct sm_relay *r)
{
	static const char *const keys[] = { "return-path: ", "return-path ",
	    "envelope-sender ", "envelope-sender=", "envelope-from ",
	    "envelope-from=", NULL };
	const char *best = NULL, *q;
	size_t i, n, bl = 0;

	for (i = 0; keys[i] != NULL; i++)
		if ((q = strcasestr(line, keys[i])) != NULL &&
		    (best == NULL || q < best)) {
			best = q;
			bl = strlen(keys[i]);
		}
	if (best == NULL)
		return;
	q = best + bl;
	for (n = 0; q[n] != '\0' && q[n] != ' '; n++)
		;
	/* \b: back to the end of a word character */
	while (n > 0 && !(isalnum((unsigned char)q[n - 1]) || q[n - 1] == '_'))
		n--;
	if (n == 0)
		return;
	while (n > 0 && *q == '<') {
		q++;
		n--;
	}
	while (n > 0 && q[n - 1] == '>')
		n--;
	r->envfrom = tok(a, q, n);
}

/*
 * Received.pm's qmail test after "from W (...)": the rest, from end on,
 * is " by \S+( \(.+\))* with (.* )?(SMTP|QMQP)(?! id )" (bug 4813: a
 * following " id " means sendmail).
 */
static int
qmail_tail(const char *end)
{
	const char *w, *q;

	if (strncmp(end, " by ", 4) != 0)
		return 0;
	end += 4;
	end += word_len(end, "");
	/* "X with" or "X (...)... ) with" */
	if (strncmp(end, " with ", 6) == 0)
		w = end;
	else if (strncmp(end, " (", 2) == 0 &&
	    (w = strstr(end, ") with ")) != NULL)
		w++;
	else
		return 0;
	for (q = w + 5; *q != '\0'; q++) {
		if (q[-1] != ' ' || (strncmp(q, "SMTP", 4) != 0 &&
		    strncmp(q, "QMQP", 4) != 0))
			continue;
		if (strncmp(q + 4, " id ", 4) != 0)
			return 1;
	}
	return 0;
}

/*
 * One Received: value. 1: relay filled; 0: skipped (a local handover or
 * a line without "from"); -1: unparseable.
 */
static int
parse_line(struct arena *a, const char *val, size_t vlen, struct sm_relay *r,
    int *priv_out)
{
	char line[RELAYS_MAX_LINE];
	const char *p, *q, *ip = NULL;
	size_t n, n2;

	memset(r, 0, sizeof(*r));
	r->rdns = r->helo = r->by = r->ident = r->id = r->auth = "";
	normalise(val, vlen, line, sizeof(line));
	p = line;
	if (*p == '(')
		p++;
	if (strncasecmp(p, "from ", 5) != 0)
		return 0;
	if (strstr(line, " with local for ") != NULL)
		return 0;
	if ((q = strstr(line, " id ")) != NULL) {
		q += 4;
		if (*q == '<')
			q++;
		if ((n = word_len(q, "<>;")) >= 3)
			r->id = arena_strndup(a, q, n);
	}
	if ((q = strstr(line, "helo=")) != NULL) {
		q += 5;
		n = word_len(q, ")(]");
		r->helo = tok(a, q, n);
	} else if ((q = strstr(line, "HELO ")) != NULL ||
	    (q = strstr(line, "EHLO ")) != NULL) {
		q += 5;
		n = word_len(q, ")(]");
		r->helo = tok(a, q, n);
	}
	if ((q = strstr(line, " by ")) != NULL) {
		q += 4;
		n = word_len(q, "();");
		r->by = tok(a, q, n);
		/* with ESMTPA / ESMTPSA / LMTPA ...: authenticated */
		if ((q = strstr(line, " with ")) != NULL) {
			static const char *const am[] = { "ESMTPSA", "ESMTPA",
			    "LMTPSA", "LMTPA", "UTF8SMTPSA", "UTF8SMTPA",
			    "ASMTP", "HTTPS", "HTTPU", "HTTP", NULL };
			size_t k;

			q += 6;
			n = word_len(q, ";");
			for (k = 0; am[k] != NULL; k++)
				if (n == strlen(am[k]) &&
				    strncasecmp(q, am[k], n) == 0)
					r->auth = arena_strndup(a, q, n);
		}
	}
	if (*r->auth == '\0' && sendmail_auth(line))
		r->auth = "Sendmail";
	if (*r->auth == '\0' && strstr(line, "(Authenticated sender: ") != NULL)
		r->auth = "Postfix";
	envelope_from(a, line, r);
	p += 5;
	/* X-Originating-IP and friends, synthesised by relays_parse */
	if (strncmp(p, "X-Originating-IP: ", 18) == 0) {
		r->ip = tok(a, p + 18, strlen(p + 18));
		*priv_out = ip_private(r->ip);
		return 1;
	}
	/* Received.pm: a mail fetcher's handover (fetchmail, getmail) */
	if (strstr(line, "with POP3") != NULL ||
	    strstr(line, "with IMAP") != NULL)
		return 2;
	if (local_handover(p) || strstr(line, "(fetchmail") != NULL)
		return 0;
	/* "from HELO (RDNS [IP])", "from HELO (ident@RDNS [IP])",
	 * "from HELO ([IP])": Postfix, sendmail */
	n = word_len(p, "");
	q = p + n;
	if (*q == ' ' && q[1] == '(' && q[2] != '[' && strncmp(q + 2, "HELO ",
	    5) != 0 && strncmp(q + 2, "EHLO ", 5) != 0) {
		const char *rd = q + 2, *at, *end;
		size_t rl = word_len(rd, ")");

		if (rd[rl] == ' ' && rd[rl + 1] == '[' &&
		    (ip = bracket_ip(a, rd + rl + 1, &end)) != NULL &&
		    (*end == ')' || *end == ' ')) {
			if (*r->helo == '\0' || strstr(line, "helo=") == NULL)
				r->helo = tok(a, p, n);
			if ((at = memchr(rd, '@', rl)) != NULL) {
				/* sendmail's "(IDENT:user@host [ip])" */
				if (at - rd >= 6 && strncmp(rd, "IDENT:", 6) ==
				    0) {
					rl -= 6;
					rd += 6;
				}
				r->ident = tok(a, rd, (size_t)(at - rd));
				rl -= (size_t)(at - rd) + 1;
				rd = at + 1;
			}
			r->rdns = tok(a, rd, rl);
		} else if (rd[rl] == ')' && strstr(rd + rl, " by ") != NULL) {
			/* qmail and others: "W ((ident@)?[?IP]?) ... by X"
			 * gives rdns and helo W */
			const char *s0 = rd;
			size_t l;

			if ((at = memrchr(rd, '@', rl)) != NULL)
				s0 = at + 1;
			if (*s0 == '[')
				s0++;
			ip = NULL;
			if ((ipv4_at(s0, &l) || ipv6_at(s0, &l)) &&
			    (s0[l] == ')' || (s0[l] == ']' && s0[l + 1] == ')')) &&
			    s0 + l + (s0[l] == ']') == rd + rl) {
				ip = arena_strndup(a, s0, l);
				r->rdns = r->helo = tok(a, p, n);
				if (at != NULL)
					r->ident = tok(a, rd, (size_t)(at - rd));
				/* sendmail's "W (ident@[IP])": helo only */
				if (at != NULL && at[1] == '[')
					r->rdns = "";
			}
		} else
			ip = NULL;
	} else if (*q == ' ' && q[1] == '(' && q[2] == '[') {
		/* Exim: "from RDNS ([IP] helo=HELO)", "from HELO ([IP])" */
		const char *end;

		if ((ip = bracket_ip(a, q + 2, &end)) != NULL) {
			if (strstr(line, "Exim") != NULL &&
			    strstr(line, " SMTPSVC") == NULL) {
				/* Received.pm: rdns, and helo by default
				 * (bug 5112) */
				r->rdns = tok(a, p, n);
				if (strstr(line, "helo=") == NULL)
					r->helo = r->rdns;
			} else if (strstr(line, "helo=") != NULL) {
				if (p[0] != '[')
					r->rdns = tok(a, p, n);
			} else if (*end == ')' && qmail_tail(end + 1) &&
			    strstr(line, " SMTPSVC") == NULL)
				/* qmail: "W ([IP]) by X with SMTP" */
				r->rdns = r->helo = tok(a, p, n);
			else
				r->helo = tok(a, p, n);
		}
	} else if (*q == ' ' && q[1] == '(' && (strncmp(q + 2, "HELO ", 5) == 0
	    || strncmp(q + 2, "EHLO ", 5) == 0)) {
		/* qmail: "from RDNS (HELO helo) (IP)" */
		const char *c = strchr(q + 2, ')');
		size_t l;

		if (c != NULL && c[1] == ' ' && c[2] == '(') {
			const char *s = c + 3;
			const char *at = NULL;
			size_t wl = word_len(s, ")");

			at = memrchr(s, '@', wl);
			if (at != NULL) {
				r->ident = tok(a, s, (size_t)(at - s));
				s = at + 1;
			}
			if (ipv4_at(s, &l) && s[l] == ')')
				ip = arena_strndup(a, s, l);
		}
		if (ip != NULL && !(n == 7 && strncmp(p, "unknown", 7) == 0))
			r->rdns = tok(a, p, n);
		/* "from IP (HELO x) by X (IP) with SMTP": the IP is the
		 * client's, no rdns (Received.pm, altavista.de) */
		if (ip == NULL && c != NULL && strncmp(c, ") by ", 5) == 0 &&
		    ipv4_at(p, &l) && l == n)
			ip = arena_strndup(a, p, n);
	}
	if (ip == NULL && (q = strchr(p, '(')) != NULL && q > p &&
	    (size_t)(q - p) < n && ipv4_at(q + 1, &n2) && q[1 + n2] == ')') {
		/* Obtuse smtpd: "W(IP)(, claiming to be "H")? via \S+ by
		 * X," */
		const char *t = q + 2 + n2, *h = NULL, *x;
		size_t hl = 0;

		if (strncmp(t, ", claiming to be \"", 18) == 0) {
			h = t + 18;
			hl = word_len(h, "\"");
			t = h + hl;
			if (*t == '"')
				t++;
			else
				h = NULL;
		}
		if (strncmp(t, " via ", 5) == 0) {
			x = t + 5 + word_len(t + 5, "");
			if (strncmp(x, " by ", 4) == 0) {
				size_t bl = word_len(x + 4, ",");

				if (x[4 + bl] == ',' && bl > 0) {
					ip = arena_strndup(a, q + 1, n2);
					r->rdns = tok(a, p, (size_t)(q - p));
					r->helo = h != NULL ?
					    tok(a, h, hl) : "";
					r->by = tok(a, x + 4, bl);
				}
			}
		}
	}
	q = p + n;
	if (ip == NULL && *q == ' ' && ipv4_at(p, &n2) && n2 == n &&
	    strncmp(q, " by ", 4) == 0) {
		/* "from IP by X with " and "from IP by X (SMTPL|InterScan" */
		const char *x = q + 4 + word_len(q + 4, "");

		if (strncmp(x, " with ", 6) == 0 || strncmp(x, " (SMTPL", 7) ==
		    0 || strncmp(x, " (InterScan", 11) == 0)
			ip = arena_strndup(a, p, n);
	}
	if (ip == NULL) {
		const char *ipend = NULL, *by = strstr(p, " by ");

		/* the client's [IP] comes before " by "; one after it is
		 * the receiving host's ("by X ([IP] running VPOP3)") */
		ip = bracket_ip(a, p, &ipend);
		if (ip != NULL && by != NULL && ipend > by)
			ip = NULL;
		if (ip != NULL && *r->helo == '\0' && p[0] != '[' &&
		    p[0] != '(')
			r->helo = tok(a, p, n);
	}
	if (ip == NULL || *r->by == '\0')
		return -1;
	if (strcasecmp(r->rdns, "unknown") == 0 || r->rdns[0] == '!')
		r->rdns = "";
	{
		size_t rl = strlen(r->rdns);

		while (rl > 0 && r->rdns[rl - 1] == '.')
			rl--;
		r->rdns = arena_strndup(a, r->rdns, rl);
	}
	if (strncasecmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.') != NULL)
		ip += 7;
	r->ip = tok(a, ip, strlen(ip));
	*priv_out = ip_private(r->ip);
	return 1;
}

size_t
relays_parse(struct arena *a, const struct msg *m,
    const struct score_conn *conn, struct sm_relay **out)
{
	struct sm_relay *r = arena_allocarray(a, RELAYS_MAX + 1, sizeof(*r));
	static const char *const orig_hdrs[RELAYS_NORIG] = {
	    "x-yahoo-post-ip", "x-originating-ip", "x-apparently-from",
	    "x-senderip", "x-aol-ip",
	    "x-ms-exchange-crosstenant-originalattributedtenantconnectingip" };
	size_t i, n = 0, seen = 0, first;
	int trusted = 1, fetch_ok = 1;

	if (conn != NULL && conn->client_addr != NULL) {
		memset(&r[0], 0, sizeof(r[0]));
		r[0].ip = conn->client_addr;
		r[0].rdns = conn->client_name != NULL ? conn->client_name : "";
		r[0].helo = conn->helo != NULL ? tok(a, conn->helo,
		    strlen(conn->helo)) : "";
		r[0].by = conn->my_hostname != NULL ? conn->my_hostname : "";
		r[0].ident = "";
		r[0].envfrom = conn->mail_from != NULL ?
		    tok(a, conn->mail_from, strlen(conn->mail_from)) : NULL;
		r[0].id = conn->queue_id != NULL ? conn->queue_id : "";
		r[0].auth = conn->auth_user != NULL ? "ESMTPA" : "";
		r[0].intl = conn->trusted || conn->auth_user != NULL;
		trusted = r[0].intl;
		n = 1;
	}
	first = n;
	for (i = 0; i < m->nhdrs + RELAYS_NORIG && seen < RELAYS_MAX; i++) {
		const struct hdr *h = i < m->nhdrs ? &m->hdrs[i] : NULL;
		int priv = 0, rc;
		char syn[80];
		const char *v;
		size_t vl;

		if (h != NULL) {
			if (!span_ieq(h->name, "received"))
				continue;
			v = h->value.p;
			vl = h->value.len;
		} else {
			/* originating_ip_headers (10_default_prefs.cf) become
			 * "from X-Originating-IP: IP" lines after the chain */
			const struct hdr *oh = hdr_find(m,
			    orig_hdrs[i - m->nhdrs], -1);
			size_t s, e;

			if (oh == NULL || !sm_ip_find(oh->value.p,
			    oh->value.len, &s, &e) ||
			    buf_fmt(syn, sizeof(syn), "from X-Originating-IP: "
			    "%.*s", (int)(e - s), oh->value.p + s) == -1)
				continue;
			v = syn;
			vl = strlen(syn);
		}
		seen++;
		rc = parse_line(a, v, vl, &r[n], &priv);
		if (rc == 2) {
			/* found_pop_fetcher_sig: restart the parse while
			 * still in the trusted part */
			if (fetch_ok)
				n = first;
			continue;
		}
		if (rc != 1)
			continue;
		if (trusted && !priv && *r[n].auth == '\0')
			trusted = 0;
		r[n].intl = trusted;
		fetch_ok = trusted;
		n++;
	}
	*out = r;
	return n;
}

/*
 * Received.pm's last_internal_relay_index + 1, without internal_networks
 * (internal = trusted): the index, among m's Received: fields from the
 * top, of the first one whose relay is external; fields skipped or
 * unparseable while still trusted count as internal. Returns the number
 * of Received: fields (at most RELAYS_MAX) when none is external, and -1
 * when the milter's connection itself is external (its Received: field,
 * not yet written, would be the first). Re-parses only up to the
 * boundary, so usually one or two fields.
 */
long
relays_external_index(struct arena *a, const struct msg *m,
    const struct score_conn *conn)
{
	struct sm_relay r;
	size_t i;
	long k = 0;

	if (conn != NULL && conn->client_addr != NULL && !conn->trusted &&
	    conn->auth_user == NULL)
		return -1;
	for (i = 0; i < m->nhdrs && k < RELAYS_MAX; i++) {
		const struct hdr *h = &m->hdrs[i];
		int priv = 0;

		if (!span_ieq(h->name, "received"))
			continue;
		if (parse_line(a, h->value.p, h->value.len, &r, &priv) == 1 &&
		    !priv && *r.auth == '\0')
			break;
		k++;
	}
	return k;
}

void
relays_format(const struct sm_relay *r, size_t n, struct buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(out, ' ');
		buf_addf(out, "[ ip=%s rdns=%s helo=%s by=%s ident=%s "
		    "envfrom=%s intl=%d id=%s auth=%s msa=%d ]", r[i].ip,
		    r[i].rdns, r[i].helo, r[i].by, r[i].ident,
		    r[i].envfrom != NULL ? r[i].envfrom : "", r[i].intl,
		    r[i].id, r[i].auth, r[i].msa);
	}
}
