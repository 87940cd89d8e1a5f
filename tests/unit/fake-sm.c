/*
 * fake-sm.c - a small stand-in for prepare.c (the sm_* answers bayes.c
 * asks for), so that the Bayes tests and the accuracy harness do not
 * depend on the whole message side: text parts decoded, HTML tags
 * stripped (script/style dropped, a few entities, href/src kept as
 * URIs), paragraphs joined into lines, the Subject first; URIs found in
 * the text. No relays (sm_header answers "absent").
 *
 * Included by tests/unit/test-bayes.c and tests/bench/bayes-harness.c
 * (when built with -DFAKE_SM). Not a model of SpamAssassin's renderer.
 */
#include <string.h>
#include <strings.h>

#include "../../src/lib/arena.h"
#include "../../src/lib/buf.h"
#include "../../src/msg/msg.h"

#define FAKE_MAX_TEXT	(1024 * 1024)
#define FAKE_MAX_URIS	1000

struct score_msg {
	struct msg *m;
	struct arena *a;	/* m->arena */
	struct span *lines;
	size_t nlines;
	const char **uris;
	size_t nuris;
	struct bayes *b;
	int cached;
	double p;
};

static void
fake_add_uri(struct score_msg *sm, const char *p, size_t n)
{
	if (n == 0 || sm->nuris >= FAKE_MAX_URIS)
		return;
	sm->uris[sm->nuris++] = arena_strndup(sm->a, p, n);
}

/* http://, https://, www. runs in plain text */
static void
fake_text_uris(struct score_msg *sm, const char *p, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (!((n - i > 7 && (strncasecmp(p + i, "http://", 7) == 0 ||
		    (n - i > 8 && strncasecmp(p + i, "https://", 8) == 0))) ||
		    (n - i > 4 && strncasecmp(p + i, "www.", 4) == 0 &&
		    (i == 0 || p[i - 1] == ' ' || p[i - 1] == '\n'))))
			continue;
		for (j = i; j < n && (unsigned char)p[j] > ' ' && p[j] != '"' &&
		    p[j] != '<' && p[j] != '>' && p[j] != '\''; j++)
			;
		fake_add_uri(sm, p + i, j - i);
		i = j;
	}
}

static void
fake_html(struct score_msg *sm, const char *p, size_t n, struct buf *out)
{
	size_t i = 0, j;

	while (i < n) {
		if (p[i] == '<') {
			const char *end = memchr(p + i, '>', n - i);
			size_t tl = end ? (size_t)(end - (p + i)) + 1 : n - i;
			const char *skip = NULL;

			if (tl > 7 && strncasecmp(p + i, "<script", 7) == 0)
				skip = "</script";
			else if (tl > 6 && strncasecmp(p + i, "<style", 6) == 0)
				skip = "</style";
			for (j = i; j + 5 < i + tl; j++) {
				if (strncasecmp(p + j, "href=", 5) == 0 ||
				    strncasecmp(p + j, "src=", 4) == 0) {
					size_t k = j + (p[j] == 'h' ||
					    p[j] == 'H' ? 5 : 4), s;
					char q = 0;

					if (k < i + tl && (p[k] == '"' ||
					    p[k] == '\''))
						q = p[k++];
					for (s = k; k < i + tl && p[k] != '>' &&
					    (q ? p[k] != q : p[k] != ' '); k++)
						;
					fake_add_uri(sm, p + s, k - s);
				}
			}
			i += tl;
			if (skip != NULL) {
				const char *e = NULL;
				size_t sl = strlen(skip);

				for (j = i; j + sl <= n; j++)
					if (strncasecmp(p + j, skip, sl) == 0) {
						e = p + j;
						break;
					}
				i = e ? (size_t)(e - p) : n;
			}
			buf_addc(out, ' ');
			continue;
		}
		if (p[i] == '&') {
			static const struct { const char *e, *r; } ents[] = {
				{ "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" },
				{ "&nbsp;", " " }, { "&quot;", "\"" },
				{ NULL, NULL }
			};
			size_t k;

			for (k = 0; ents[k].e; k++)
				if (n - i >= strlen(ents[k].e) &&
				    strncasecmp(p + i, ents[k].e,
				    strlen(ents[k].e)) == 0)
					break;
			if (ents[k].e) {
				buf_adds(out, ents[k].r);
				i += strlen(ents[k].e);
				continue;
			}
		}
		buf_addc(out, p[i]);
		i++;
	}
}

struct fake_walk {
	struct score_msg *sm;
	struct buf *text;
};

static int
fake_part(struct mime_part *p, void *arg)
{
	struct fake_walk *w = arg;
	struct buf dec = BUF_INIT;
	const char *ct = p->ctype.value ? p->ctype.value : "text/plain";

	if (p->children != NULL || strncmp(ct, "text/", 5) != 0 ||
	    w->text->len >= FAKE_MAX_TEXT)
		return 0;
	mime_decode(p, &dec);
	if (w->text->len > 0)
		buf_addc(w->text, '\n');
	if (strcmp(ct, "text/html") == 0)
		fake_html(w->sm, dec.data ? dec.data : "", dec.len, w->text);
	else {
		buf_add(w->text, dec.data ? dec.data : "", dec.len);
		fake_text_uris(w->sm, dec.data ? dec.data : "", dec.len);
	}
	buf_free(&dec);
	return 0;
}

/* m must hold the whole message in m->data (msg_map, or set by hand). */
static struct score_msg *
fake_sm_new(struct msg *m)
{
	struct score_msg *sm = xcalloc(1, sizeof *sm);
	struct buf text = BUF_INIT, out = BUF_INIT;
	struct fake_walk w = { sm, &text };
	const struct hdr *subj;
	size_t i, n, start, cap = 16;

	sm->m = m;
	sm->a = m->arena;
	sm->uris = arena_allocarray(sm->a, FAKE_MAX_URIS, sizeof *sm->uris);
	if (m->mime == NULL)
		(void)mime_parse(m);
	if (m->mime != NULL)
		(void)mime_walk(m->mime, fake_part, &w);
	/* Subject first, then the text; blank lines end paragraphs, other
	 * whitespace runs become one space (Message.pm) */
	if ((subj = hdr_find(m, "Subject", 0)) != NULL)
		buf_adds(&out, hdr_decode(sm->a, subj->value));
	buf_addc(&out, '\n');
	n = text.len;
	for (i = 0; i < n; ) {
		if (text.data[i] == '\n') {
			size_t j = i + 1, nl = 1;

			while (j < n && (text.data[j] == ' ' ||
			    text.data[j] == '\t' || text.data[j] == '\r' ||
			    text.data[j] == '\n'))
				nl += text.data[j++] == '\n';
			buf_addc(&out, nl > 1 ? '\n' : ' ');
			i = j;
		} else if (text.data[i] == ' ' || text.data[i] == '\t' ||
		    text.data[i] == '\r') {
			while (i < n && (text.data[i] == ' ' ||
			    text.data[i] == '\t' || text.data[i] == '\r'))
				i++;
			buf_addc(&out, ' ');
		} else
			buf_addc(&out, text.data[i++]);
	}
	sm->lines = xcalloc(cap, sizeof *sm->lines);
	for (i = start = 0; out.data != NULL && i <= out.len; i++) {
		if (i < out.len && out.data[i] != '\n')
			continue;
		if (sm->nlines == cap) {
			cap *= 2;
			sm->lines = xreallocarray(sm->lines, cap,
			    sizeof *sm->lines);
		}
		sm->lines[sm->nlines].p = arena_strndup(sm->a,
		    out.data + start, i - start);
		sm->lines[sm->nlines++].len = i - start;
		start = i + 1;
	}
	buf_free(&text);
	buf_free(&out);
	return sm;
}

static void
fake_sm_free(struct score_msg **smp)
{
	if (*smp == NULL)
		return;
	free((*smp)->lines);
	free(*smp);
	*smp = NULL;
}

int
sm_header(struct score_msg *sm, const char *name, unsigned mods,
    struct buf *out)
{
	(void)sm, (void)name, (void)mods, (void)out;
	return 0;
}

size_t
sm_body(struct score_msg *sm, const struct span **lines_out)
{
	*lines_out = sm->lines;
	return sm->nlines;
}

size_t
sm_uris(struct score_msg *sm, const char *const **uris_out)
{
	*uris_out = sm->uris;
	return sm->nuris;
}

struct span
sm_full(struct score_msg *sm)
{
	return (struct span){ sm->m->data, sm->m->len };
}

struct msg *
sm_msg(struct score_msg *sm)
{
	return sm->m;
}

struct arena *
sm_arena(struct score_msg *sm)
{
	return sm->a;
}

void
sm_set_bayes(struct score_msg *sm, struct bayes *b)
{
	sm->b = b;
}

struct bayes *
sm_bayes(struct score_msg *sm)
{
	return sm->b;
}

int
sm_bayes_cached(struct score_msg *sm, double *p_out)
{
	if (sm->cached)
		*p_out = sm->p;
	return sm->cached;
}

void
sm_bayes_set_cached(struct score_msg *sm, double p)
{
	sm->cached = 1;
	sm->p = p;
}
