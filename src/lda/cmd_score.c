/*
 * cmd_score.c - sluice score: score one message from stdin.
 *
 *	sluice score [-c conf] [--rules PATH]... [--explain | --filter
 *	    [-x] | --json] [--no-bayes]
 *	sluice score [-c conf] [--rules PATH]... --lint
 *
 * The rules are the --rules paths, else sluice.conf's score_rules, else
 * the shipped set (PKGDATADIR/filters). Bayes takes part when the
 * configured store holds enough learned mail (bayes.c decides); the
 * rules then load with SpamAssassin's score set 2, else set 0, as
 * SpamAssassin switches sets when its Bayes database becomes usable.
 *
 * Output: "SCORE/REQUIRED" (spamc -c's form); --explain adds one line per
 * rule hit in SpamAssassin's report layout; --json one object; --filter
 * the message itself with the X-Spam-* fields (report.c), a drop-in for
 * spamc in a `:0fw` recipe.
 *
 * Exit status: 0 whenever the message was scored, spam or not (as
 * spamc); 64 bad usage, 66 unreadable input, 65 input over 64 MiB, 75
 * our own errors (rules missing, a bad configuration...). --filter mirrors
 * spamc's safe fallback: when we cannot score (any of our errors, or
 * mail over score_max_size) the message is written back unchanged and
 * the exit status is 0 (the reason goes to stderr); -x
 * (--no-safe-fallback, as spamc's -x) exits 75 with no output instead.
 * --lint prints the load report and exits 1 when it lists errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "lib/conf.h"
#include "msg/msg.h"
#include "score/score.h"
#include "store/store.h"
#include "lda.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/sluice"
#endif
#define DEFAULT_CONF SYSCONFDIR "/sluice/sluice.conf"
#define SCORE_DEFAULT_RULES PKGDATADIR "/filters"

/* Without --filter the admin asked for a score whatever the size; still
 * bounded: the message is held in memory. */
#define SCORE_CMD_MAX_MSG	(64L * 1024 * 1024)
#define SCORE_CMD_MAX_PATHS	64	/* --rules and score_rules entries */
#define SCORE_CMD_IO_CHUNK	65536
/* SpamAssassin's bayes_min_spam_num / bayes_min_ham_num defaults. */
#define SCORE_BAYES_MIN		200

enum { MODE_SCORE, MODE_EXPLAIN, MODE_FILTER, MODE_JSON, MODE_LINT };

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: sluice score [-c conf] [--rules PATH]... "
	    "[--explain | --filter [-x] | --json] [--no-bayes] < message\n"
	    "       sluice score [-c conf] [--rules PATH]... --lint\n");
}

/*
 * The rule paths: the extra ones (--rules) if any, else conf's
 * score_rules (space separated), else the shipped set. Loaded with
 * score_set (0, or 2 with Bayes).
 */
int
score_cmd_load_rules(const struct conf *conf, const char *const *extra,
    size_t nextra, int score_set, int prefilter_hs,
    struct score_rules **out, struct score_load_report *rep, struct err *e)
{
	struct score_load_opts o;
	const char *paths[SCORE_CMD_MAX_PATHS];
	char *copy = NULL, *tok, *save = NULL;
	size_t n = 0;
	int ret;

	if (nextra > SCORE_CMD_MAX_PATHS)
		return err_set(e, ERR_USAGE, "more than %d rule paths",
		    SCORE_CMD_MAX_PATHS);
	if (nextra > 0) {
		for (n = 0; n < nextra; n++)
			paths[n] = extra[n];
	} else if (conf->score_rules != NULL && conf->score_rules[0] != '\0') {
		copy = xstrdup(conf->score_rules);
		for (tok = strtok_r(copy, " \t,", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t,", &save)) {
			if (n == SCORE_CMD_MAX_PATHS) {
				free(copy);
				return err_set(e, ERR_CONFIG, "score_rules: "
				    "more than %d paths", SCORE_CMD_MAX_PATHS);
			}
			paths[n++] = tok;
		}
	}
	if (n == 0)
		paths[n++] = SCORE_DEFAULT_RULES;
	memset(&o, 0, sizeof o);
	o.paths = paths;
	o.npaths = n;
	o.score_set = score_set;
	/*
	 * The Hyperscan prefilter (cache: NULL is the default dir) pays
	 * for itself over many messages, not over one: loading the stock
	 * rules' databases from the cache costs 0.25-0.4 s of CPU, more
	 * than scoring a hundred messages without them (the literal
	 * prefilter: about 3 ms more per message). So sluice deliver and
	 * sluice score (one message each) go without it; --lint loads it
	 * as the cache allows, and so prepares the cache for the milter.
	 */
	o.prefilter_hs = prefilter_hs;
	o.cache_dir = conf->score_cache_dir;
	ret = score_rules_load(&o, out, rep, e);
	free(copy);
	return ret;
}

/*
 * Bayes for sm when the store has learned enough, else NULL (and the
 * store closed). An embedded store that does not exist yet is not
 * created: scoring must not leave files behind.
 */
struct bayes *
score_cmd_bayes(const struct conf *conf, const char *home, struct store **sp,
    struct score_msg *sm)
{
	struct bayes *b;
	struct err e;
	int usable;

	if (score_cmd_bayes_open(conf, home, sp, sm, &b, &usable, &e) == -1 ||
	    !usable) {
		bayes_free(&b);
		store_close(sp);
		return NULL;
	}
	return b;
}

/*
 * The store of conf, opened only when it already exists: scoring never
 * creates one (an embedded store comes into being with `sluice learn`).
 * 1 opened (*sp), 0 none configured or not there yet, -1 it exists and
 * did not open (e).
 */
static int
open_existing_store(const struct conf *conf, const char *home,
    struct store **sp, struct err *e)
{
	const char *spec = conf->store, *path;
	char buf[PATH_MAX];
	struct stat st;

	*sp = NULL;
	if (spec == NULL || spec[0] == '\0')
		return 0;
	if (strncmp(spec, "redis", 5) != 0) {
		path = strncmp(spec, "lmdb:", 5) == 0 ? spec + 5 : spec;
		if (path[0] == '~' && path[1] == '/') {
			if (home == NULL || buf_fmt(buf, sizeof buf, "%s%s",
			    home, path + 1) == -1)
				return 0;
			path = buf;
		}
		if (stat(path, &st) == -1)
			return 0;
	}
	if ((*sp = store_open(spec, home, e)) == NULL)
		return -1;
	return 1;
}

int
score_cmd_bayes_open(const struct conf *conf, const char *home,
    struct store **sp, struct score_msg *sm, struct bayes **b_out,
    int *usable_out, struct err *e)
{
	struct bayes_conf bc;
	struct err ce;
	int r;

	*b_out = NULL;
	*usable_out = 0;
	err_clear(e);
	if ((r = open_existing_store(conf, home, sp, e)) <= 0)
		return r;
	memset(&bc, 0, sizeof bc);
	bc.min_spam = bc.min_ham = SCORE_BAYES_MIN;
	if ((*b_out = bayes_new(*sp, &bc)) == NULL) {
		store_close(sp);
		return err_set(e, ERR_TEMP, "bayes: cannot use the store");
	}
	err_clear(&ce);
	*usable_out = bayes_classify(*b_out, sm, &ce) >= 0;
	return 0;
}

static void
al_status(struct score_result *res, const char *text)
{
	(void)snprintf(res->autolearn_text, sizeof res->autolearn_text, "%s",
	    text);
}

int
score_cmd_autolearn(const struct conf *conf, struct bayes *b,
    int store_failed, struct score_msg *sm, struct score_result *res,
    struct err *e)
{
	int r;

	err_clear(e);
	/* learn_timed: bayes_auto_learn or use_bayes off: "disabled" (no
	 * store configured, or none created yet, is use_bayes off here) */
	if (!conf->bayes_auto_learn || (b == NULL && !store_failed)) {
		al_status(res, "disabled");
		res->autolearn = 0;
		return 0;
	}
	/* the learner could not be had: get_autolearn_status's default */
	if (b == NULL) {
		al_status(res, "unavailable");
		res->autolearn = 0;
		return 0;
	}
	if (res->autolearn == 0) {
		al_status(res, "no");
		return 0;
	}
	r = bayes_learn(b, sm, res->autolearn > 0, 0, e);
	if (r == 1) {
		al_status(res, res->autolearn > 0 ? "spam" : "ham");
		return 0;
	}
	/* did_learn() false (already learned): no status, "unavailable" */
	al_status(res, r == 0 ? "unavailable" : "failed");
	res->autolearn = 0;
	return r == 0 ? 0 : -1;
}

/* Read all of fd into out, at most max bytes: 0, 1 when there was more
 * (out holds the first max bytes and one more), -1 on read errors. */
static int
read_all(int fd, size_t max, struct buf *out, struct err *e)
{
	ssize_t r;

	for (;;) {
		buf_reserve(out, SCORE_CMD_IO_CHUNK);
		r = read(fd, out->data + out->len, SCORE_CMD_IO_CHUNK);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return err_sys(e, errno, "read standard input");
		if (r == 0)
			return 0;
		out->len += (size_t)r;
		if (out->len > max)
			return 1;
	}
}

/* Copy the rest of fd to stdout (mail over the size limit). */
static int
copy_rest(int fd)
{
	char chunk[SCORE_CMD_IO_CHUNK];
	ssize_t r;

	for (;;) {
		r = read(fd, chunk, sizeof chunk);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return (int)r;
		if (write_all(STDOUT_FILENO, chunk, (size_t)r) == -1)
			return -1;
	}
}

/* The message as msg_spool stores it ("From " line consumed, LF line
 * ends), mapped: spooled from a memory copy of raw. */
static struct msg *
spool_raw(const struct buf *raw, int *fd_out, struct err *e)
{
	struct msg *m = msg_new();
	int in = -1, out = -1;

	*fd_out = -1;
	if ((in = memfd_create("sluice-score-in", MFD_CLOEXEC)) == -1 ||
	    (out = memfd_create("sluice-score", MFD_CLOEXEC)) == -1) {
		err_sys(e, errno, "memfd_create");
		goto fail;
	}
	if (write_all(in, raw->data ? raw->data : "", raw->len) == -1) {
		err_sys(e, errno, "write spool");
		goto fail;
	}
	if (lseek(in, 0, SEEK_SET) == -1) {
		err_sys(e, errno, "lseek");
		goto fail;
	}
	if (msg_spool(m, in, out, e) == -1 || msg_map(m, out, e) == -1)
		goto fail;
	close(in);
	*fd_out = out;
	return m;
fail:
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	msg_free(&m);
	return NULL;
}

static void
json_str(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; s != NULL && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_addf(b, "\\%c", c);
		else if (c < 0x20)
			buf_addf(b, "\\u%04x", c);
		else
			buf_addc(b, (char)c);
	}
	buf_addc(b, '"');
}

/* A hit's points as SpamAssassin's report shows them. */
static void
fmt_points(char *out, size_t outsz, double v)
{
	if (v >= 10 || v <= -10)
		(void)buf_fmt(out, outsz, "%4.0f", v);
	else
		(void)buf_fmt(out, outsz, "%4.1f", v);
}

static void
print_result(const struct score_result *res, int mode, FILE *fp)
{
	char pts[64];
	struct buf j = BUF_INIT;
	size_t i;

	if (mode == MODE_JSON) {
		buf_addf(&j, "{\"score\":%.3f,\"required\":%.1f,\"is_spam\":%s,",
		    res->score, res->required, res->is_spam ? "true" : "false");
		if (res->bayes_used)
			buf_addf(&j, "\"bayes\":%.4f,", res->bayes_prob);
		else
			buf_adds(&j, "\"bayes\":null,");
		buf_adds(&j, "\"autolearn\":");
		json_str(&j, res->autolearn_text[0] ? res->autolearn_text : "no");
		buf_adds(&j, ",\"tests\":[");
		for (i = 0; i < res->nhits; i++) {
			buf_adds(&j, i ? ",{\"name\":" : "{\"name\":");
			json_str(&j, res->hits[i].name);
			buf_addf(&j, ",\"score\":%.3f,\"count\":%u,"
			    "\"describe\":", res->hits[i].score,
			    res->hits[i].count);
			json_str(&j, res->hits[i].describe ?
			    res->hits[i].describe : "");
			buf_addc(&j, '}');
		}
		buf_adds(&j, "]}\n");
		fwrite(j.data, 1, j.len, fp);
		buf_free(&j);
		return;
	}
	/* spamc -c: "score/required" */
	fprintf(fp, "%.1f/%.1f\n", res->score, res->required);
	if (mode != MODE_EXPLAIN)
		return;
	fprintf(fp, "\nContent analysis details:   (%.1f points, %.1f "
	    "required)\n\n", res->score, res->required);
	fprintf(fp, " pts rule name              description\n"
	    "---- ---------------------- "
	    "--------------------------------------------------\n");
	for (i = 0; i < res->nhits; i++) {
		fmt_points(pts, sizeof pts, res->hits[i].score);
		fprintf(fp, "%s %-22s %s\n", pts, res->hits[i].name,
		    res->hits[i].describe ? res->hits[i].describe : "");
	}
	if (res->bayes_used)
		fprintf(fp, "\nbayes: %.4f\n", res->bayes_prob);
	else
		fprintf(fp, "\nbayes: not used (no store or not enough "
		    "learned)\n");
}

static int
lint(const struct conf *conf, const char *const *paths, size_t npaths)
{
	struct score_load_report rep;
	struct score_rules *r = NULL;
	struct err e;
	int ret;

	memset(&rep, 0, sizeof rep);
	err_clear(&e);
	if (score_cmd_load_rules(conf, paths, npaths, 0, SCORE_CMD_CHECK, &r,
	    &rep, &e) == -1) {
		fprintf(stderr, "sluice score: %s\n", e.msg);
		score_load_report_free(&rep);
		return err_exit_code(&e);
	}
	if (rep.text.len > 0)
		fwrite(rep.text.data, 1, rep.text.len, stdout);
	printf("files %u, lines %u, rules defined %u, scored %u; loaded %u, "
	    "scored and loaded %u; scored eval rules unsupported %u; "
	    "errors %u\n", rep.files, rep.lines, rep.defined, rep.scored,
	    rep.loaded, rep.scored_loaded, rep.eval_unsupported, rep.errors);
	printf("required_score %.1f\n", score_required(r));
	ret = rep.errors > 0 ? 1 : 0;
	score_rules_free(&r);
	score_load_report_free(&rep);
	return ret;
}

int
cmd_score(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rules", required_argument, NULL, 'R' },
		{ "explain", no_argument, NULL, 'E' },
		{ "filter", no_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'J' },
		{ "lint", no_argument, NULL, 'L' },
		{ "no-bayes", no_argument, NULL, 'B' },
		{ "no-safe-fallback", no_argument, NULL, 'x' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *paths[SCORE_CMD_MAX_PATHS];
	const char *cpath = NULL, *home = getenv("HOME");
	size_t npaths = 0, off;
	struct conf conf;
	struct err e;
	struct buf raw = BUF_INIT, head = BUF_INIT;
	struct score_rules *r = NULL;
	struct score_msg *sm = NULL;
	struct score_result res;
	struct store *store = NULL;
	struct bayes *b = NULL;
	struct msg *m = NULL;
	int c, mode = MODE_SCORE, no_bayes = 0, no_fallback = 0, fd = -1;
	int usable = 0, store_failed = 0;
	int ret = EX_OK, rd = 0, scored = 0;

	conf_init(&conf);
	err_clear(&e);
	memset(&res, 0, sizeof res);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:hx", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			if (npaths == SCORE_CMD_MAX_PATHS) {
				fprintf(stderr, "sluice score: more than %d "
				    "--rules\n", SCORE_CMD_MAX_PATHS);
				ret = EX_USAGE;
				goto out;
			}
			paths[npaths++] = optarg;
			break;
		case 'E': case 'F': case 'J': case 'L':
			if (mode != MODE_SCORE) {
				fprintf(stderr, "sluice score: one of --explain, "
				    "--filter, --json, --lint\n");
				ret = EX_USAGE;
				goto out;
			}
			mode = c == 'E' ? MODE_EXPLAIN : c == 'F' ? MODE_FILTER :
			    c == 'J' ? MODE_JSON : MODE_LINT;
			break;
		case 'B':
			no_bayes = 1;
			break;
		case 'x':
			no_fallback = 1;
			break;
		case 'c':
			cpath = optarg;
			break;
		case 'h':
			usage(stdout);
			goto out;
		default:
			usage(stderr);
			ret = EX_USAGE;
			goto out;
		}
	}
	if (optind != argc) {
		usage(stderr);
		ret = EX_USAGE;
		goto out;
	}
	if (conf_load(&conf, cpath ? cpath : DEFAULT_CONF, cpath != NULL,
	    &e) == -1) {
		fprintf(stderr, "sluice score: %s\n", e.msg);
		if (mode != MODE_FILTER) {
			ret = err_exit_code(&e);
			goto out;
		}
		/* --filter: read the message anyway, to give it back */
	}
	if (mode == MODE_LINT) {
		ret = lint(&conf, paths, npaths);
		goto out;
	}

	rd = read_all(STDIN_FILENO, mode == MODE_FILTER ?
	    (size_t)conf.score_max_size : (size_t)SCORE_CMD_MAX_MSG, &raw, &e);
	if (rd == -1) {
		fprintf(stderr, "sluice score: %s\n", e.msg);
		ret = EX_NOINPUT;
		if (mode == MODE_FILTER && !no_fallback)
			goto fallback;
		goto out;
	}
	if (rd == 1) {
		if (mode == MODE_FILTER)
			goto fallback;	/* spamc: too big, passed through */
		fprintf(stderr, "sluice score: message over %ld bytes\n",
		    SCORE_CMD_MAX_MSG);
		ret = EX_DATAERR;
		goto out;
	}
	if (e.cls != ERR_NONE)	/* the configuration failed (--filter) */
		goto fallback;

	if ((m = spool_raw(&raw, &fd, &e)) == NULL)
		goto failed;
	sm = score_msg_new(m, NULL);
	if (!no_bayes && score_cmd_bayes_open(&conf, home, &store, sm, &b,
	    &usable, &e) == -1) {
		/* scored without Bayes; autolearn says "unavailable" */
		fprintf(stderr, "sluice score: store: %s\n", e.msg);
		store_failed = 1;
	}
	err_clear(&e);
	if (score_cmd_load_rules(&conf, paths, npaths, usable ? 2 : 0,
	    SCORE_CMD_ONE_MESSAGE, &r, NULL, &e) == -1)
		goto failed;
	if (score_run(r, sm, b, &res, &e) == -1)
		/* the store failed: scored without Bayes */
		fprintf(stderr, "sluice score: bayes: %s\n", e.msg);
	err_clear(&e);
	scored = 1;
	/* a store failure here is reported, never an exit status (spamc) */
	if (!no_bayes && score_cmd_autolearn(&conf, b, store_failed, sm, &res,
	    &e) == -1)
		fprintf(stderr, "sluice score: autolearn: %s\n", e.msg);
	err_clear(&e);
	if (mode != MODE_FILTER) {
		print_result(&res, mode, stdout);
		goto out;
	}
	off = score_rewrite_head(&res, raw.data ? raw.data : "", raw.len,
	    &head);
	if (write_all(STDOUT_FILENO, head.data ? head.data : "", head.len) ==
	    -1 || write_all(STDOUT_FILENO, raw.data ? raw.data + off : "",
	    raw.len - off) == -1) {
		fprintf(stderr, "sluice score: write: %s\n", strerror(errno));
		ret = EX_IOERR;
	}
	goto out;

failed:
	fprintf(stderr, "sluice score: %s\n", e.msg);
	ret = err_exit_code(&e);
	if (mode != MODE_FILTER)
		goto out;
fallback:
	/* spamc's safe fallback: the message as it came, exit 0; mail
	 * over the size limit is passed through even with -x */
	if (no_fallback && rd != 1) {
		ret = EX_TEMPFAIL;
		goto out;
	}
	ret = EX_OK;
	if (write_all(STDOUT_FILENO, raw.data ? raw.data : "", raw.len) ==
	    -1 || (rd == 1 && copy_rest(STDIN_FILENO) == -1)) {
		fprintf(stderr, "sluice score: write: %s\n", strerror(errno));
		ret = EX_IOERR;
	}
out:
	if (scored)
		score_result_free(&res);
	score_msg_free(&sm);
	score_rules_free(&r);
	bayes_free(&b);
	store_close(&store);
	msg_free(&m);
	if (fd != -1)
		close(fd);
	buf_free(&raw);
	buf_free(&head);
	conf_free(&conf);
	return ret;
}
