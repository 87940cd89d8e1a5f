/*
 * conf.c - the sluice.conf reader. A table of keys, each with a setter.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "limits.h"

enum key_type { K_STR, K_BOOL, K_SECS, K_SEP, K_UINT, K_SIZE, K_PERIOD,
	K_SCORE };

struct key {
	const char *name;
	enum key_type type;
	size_t off;
};

#define KEY(n, t) { #n, t, offsetof(struct conf, n) }
static const struct key keys[] = {
	KEY(maildir, K_STR),
	KEY(mailbox_separator, K_SEP),
	KEY(recipient_delimiter, K_STR),
	KEY(lda_mailbox_autocreate, K_BOOL),
	KEY(lda_mailbox_autosubscribe, K_BOOL),
	KEY(quota_full_tempfail, K_BOOL),
	KEY(deliver_timeout, K_SECS),
	KEY(hostname, K_STR),
	KEY(mail_debug, K_BOOL),
	KEY(procmail_skip_bad_recipes, K_BOOL),
	KEY(sieve, K_STR),
	{ "sieve_before", K_STR, offsetof(struct conf, sieve_before[0]) },
	{ "sieve_before2", K_STR, offsetof(struct conf, sieve_before[1]) },
	{ "sieve_before3", K_STR, offsetof(struct conf, sieve_before[2]) },
	{ "sieve_before4", K_STR, offsetof(struct conf, sieve_before[3]) },
	{ "sieve_before5", K_STR, offsetof(struct conf, sieve_before[4]) },
	{ "sieve_before6", K_STR, offsetof(struct conf, sieve_before[5]) },
	{ "sieve_before7", K_STR, offsetof(struct conf, sieve_before[6]) },
	{ "sieve_before8", K_STR, offsetof(struct conf, sieve_before[7]) },
	{ "sieve_before9", K_STR, offsetof(struct conf, sieve_before[8]) },
	{ "sieve_after", K_STR, offsetof(struct conf, sieve_after[0]) },
	{ "sieve_after2", K_STR, offsetof(struct conf, sieve_after[1]) },
	{ "sieve_after3", K_STR, offsetof(struct conf, sieve_after[2]) },
	{ "sieve_after4", K_STR, offsetof(struct conf, sieve_after[3]) },
	{ "sieve_after5", K_STR, offsetof(struct conf, sieve_after[4]) },
	{ "sieve_after6", K_STR, offsetof(struct conf, sieve_after[5]) },
	{ "sieve_after7", K_STR, offsetof(struct conf, sieve_after[6]) },
	{ "sieve_after8", K_STR, offsetof(struct conf, sieve_after[7]) },
	{ "sieve_after9", K_STR, offsetof(struct conf, sieve_after[8]) },
	KEY(sieve_default, K_STR),
	KEY(sieve_global, K_STR),
	KEY(sieve_dir, K_STR),
	KEY(sieve_include_max_nesting_depth, K_UINT),
	KEY(sieve_include_max_includes, K_UINT),
	KEY(sieve_pipe_bin_dir, K_STR),
	KEY(sieve_filter_bin_dir, K_STR),
	KEY(sieve_execute_bin_dir, K_STR),
	KEY(sieve_pipe_exec_timeout, K_SECS),
	KEY(sieve_filter_exec_timeout, K_SECS),
	KEY(sieve_execute_exec_timeout, K_SECS),
	KEY(sieve_user_log, K_STR),
	KEY(sieve_max_script_size, K_SIZE),
	KEY(sieve_max_actions, K_UINT),
	KEY(sieve_max_redirects, K_UINT),
	KEY(sieve_max_cpu_time, K_SECS),
	KEY(sieve_extensions, K_STR),
	KEY(sieve_vacation_min_period, K_PERIOD),
	KEY(sieve_vacation_max_period, K_PERIOD),
	KEY(sieve_vacation_default_period, K_PERIOD),
	KEY(sieve_vacation_dont_check_recipient, K_BOOL),
	KEY(sieve_vacation_use_original_recipient, K_BOOL),
	KEY(sieve_duplicate_default_period, K_PERIOD),
	KEY(sieve_duplicate_max_period, K_PERIOD),
	KEY(sieve_spamtest_status_type, K_STR),
	KEY(sieve_spamtest_status_header, K_STR),
	KEY(sieve_spamtest_max_header, K_STR),
	KEY(sieve_spamtest_max_value, K_STR),
	{ "sieve_spamtest_text_value0", K_STR,
	  offsetof(struct conf, sieve_spamtest_text_value[0]) },
	{ "sieve_spamtest_text_value1", K_STR,
	  offsetof(struct conf, sieve_spamtest_text_value[1]) },
	{ "sieve_spamtest_text_value2", K_STR,
	  offsetof(struct conf, sieve_spamtest_text_value[2]) },
	{ "sieve_spamtest_text_value3", K_STR,
	  offsetof(struct conf, sieve_spamtest_text_value[3]) },
	{ "sieve_spamtest_text_value4", K_STR,
	  offsetof(struct conf, sieve_spamtest_text_value[4]) },
	{ "sieve_spamtest_text_value5", K_STR,
	  offsetof(struct conf, sieve_spamtest_text_value[5]) },
	{ "sieve_spamtest_text_value6", K_STR,
	  offsetof(struct conf, sieve_spamtest_text_value[6]) },
	{ "sieve_spamtest_text_value7", K_STR,
	  offsetof(struct conf, sieve_spamtest_text_value[7]) },
	{ "sieve_spamtest_text_value8", K_STR,
	  offsetof(struct conf, sieve_spamtest_text_value[8]) },
	{ "sieve_spamtest_text_value9", K_STR,
	  offsetof(struct conf, sieve_spamtest_text_value[9]) },
	{ "sieve_spamtest_text_value10", K_STR,
	  offsetof(struct conf, sieve_spamtest_text_value[10]) },
	KEY(sieve_virustest_status_type, K_STR),
	KEY(sieve_virustest_status_header, K_STR),
	KEY(sieve_virustest_max_header, K_STR),
	KEY(sieve_virustest_max_value, K_STR),
	{ "sieve_virustest_text_value0", K_STR,
	  offsetof(struct conf, sieve_virustest_text_value[0]) },
	{ "sieve_virustest_text_value1", K_STR,
	  offsetof(struct conf, sieve_virustest_text_value[1]) },
	{ "sieve_virustest_text_value2", K_STR,
	  offsetof(struct conf, sieve_virustest_text_value[2]) },
	{ "sieve_virustest_text_value3", K_STR,
	  offsetof(struct conf, sieve_virustest_text_value[3]) },
	{ "sieve_virustest_text_value4", K_STR,
	  offsetof(struct conf, sieve_virustest_text_value[4]) },
	{ "sieve_virustest_text_value5", K_STR,
	  offsetof(struct conf, sieve_virustest_text_value[5]) },
	KEY(sieve_editheader_protected, K_STR),
	KEY(sieve_editheader_forbid_add, K_STR),
	KEY(sieve_editheader_forbid_delete, K_STR),
	KEY(sieve_editheader_max_header_size, K_SIZE),
	KEY(sendmail_path, K_STR),
	KEY(postmaster_address, K_STR),
	KEY(store, K_STR),
	KEY(score_rules, K_STR),
	KEY(score_max_size, K_SIZE),
	KEY(score_cache_dir, K_STR),
	KEY(score_in_deliver, K_BOOL),
	KEY(bayes_auto_learn, K_BOOL),
	KEY(score_trusted_authserv_id, K_STR),
	KEY(milter_socket, K_STR),
	KEY(milter_user, K_STR),
	KEY(milter_pid_file, K_STR),
	KEY(milter_max_size, K_SIZE),
	KEY(milter_store_fail, K_STR),
	KEY(milter_stats_interval, K_PERIOD),
	KEY(milter_stats_file, K_STR),
	KEY(reject_score, K_SCORE),
	KEY(greylist_score, K_SCORE),
	KEY(add_header_score, K_SCORE),
	KEY(trusted_networks, K_STR),
	KEY(authserv_id, K_STR),
	KEY(greylist_delay, K_PERIOD),
	KEY(greylist_expiry, K_PERIOD),
	KEY(greylist_pass_ttl, K_PERIOD),
	KEY(greylist_v4_prefix, K_UINT),
	KEY(greylist_v6_prefix, K_UINT),
	KEY(ratelimit_client, K_STR),
	KEY(ratelimit_sender, K_STR),
	KEY(ratelimit_user, K_STR),
	KEY(spf, K_BOOL),
	KEY(spf_user, K_STR),
	KEY(spf_resolver, K_STR),
};

void
conf_init(struct conf *c)
{
	memset(c, 0, sizeof *c);
	c->maildir = xstrdup("~/Maildir");
	c->mailbox_separator = '.';
	c->recipient_delimiter = xstrdup("+");
	c->lda_mailbox_autocreate = 1;
	c->lda_mailbox_autosubscribe = 1;
	c->quota_full_tempfail = 0;
	c->deliver_timeout = LDA_DEFAULT_TIMEOUT;
	c->sieve = xstrdup("~/.dovecot.sieve");
	c->sieve_max_script_size = 1024 * 1024;
	c->sieve_max_actions = 32;
	c->sieve_max_redirects = 4;
	c->sieve_max_cpu_time = 30;
	c->sieve_pipe_exec_timeout = 10;
	c->sieve_filter_exec_timeout = 10;
	c->sieve_execute_exec_timeout = 10;
	c->sieve_vacation_min_period = 86400;	/* Pigeonhole's defaults */
	c->sieve_vacation_default_period = 7 * 86400;
	c->sieve_duplicate_default_period = 12 * 3600;
	c->sieve_duplicate_max_period = 2 * 86400;
	/* RFC 5235 over the milter's headers (DESIGN.md) */
	c->sieve_spamtest_status_type = xstrdup("score");
	c->sieve_spamtest_status_header = xstrdup("X-Spam-Score");
	c->sieve_spamtest_max_header = xstrdup("X-Spam-Status: "
	    "required=(-?[[:digit:]]+[.,]?[[:digit:]]*)");
	c->sieve_editheader_max_header_size = 2048;
	c->sieve_include_max_nesting_depth = 10;
	c->sieve_include_max_includes = 255;
	c->sendmail_path = xstrdup("/usr/sbin/sendmail");
	c->store = xstrdup("lmdb:~/.sluice/state");
	/* spamc's default -s: larger mail goes through unscored */
	c->score_max_size = 500 * 1024;
	/* SpamAssassin's bayes_auto_learn default */
	c->bayes_auto_learn = 1;
	/* sluice-milter (sluice-milter(8)) */
	c->milter_socket = xstrdup("unix:/var/spool/postfix/sluice/milter.sock");
	c->milter_user = xstrdup("sluice");
	c->milter_max_size = 1024 * 1024;
	c->milter_store_fail = xstrdup("open");
	c->milter_stats_interval = 3600;
	c->reject_score = 15.0;
	c->greylist_score = CONF_SCORE_OFF;
	c->add_header_score = -CONF_SCORE_OFF;	/* every message */
	c->trusted_networks = xstrdup("127.0.0.0/8 ::1/128");
	c->greylist_delay = 300;		/* as postgrey */
	c->greylist_expiry = 4 * 3600;
	c->greylist_pass_ttl = 36 * 86400;
	c->greylist_v4_prefix = 24;
	c->greylist_v6_prefix = 64;
	c->spf = 1;
	c->spf_user = xstrdup("nobody");
}

void
conf_free(struct conf *c)
{
	free(c->maildir);
	free(c->recipient_delimiter);
	free(c->hostname);
	free(c->path);
	free(c->sieve);
	for (size_t i = 0; i < CONF_MAX_SIEVE_SEQ; i++) {
		free(c->sieve_before[i]);
		free(c->sieve_after[i]);
	}
	free(c->sieve_default);
	free(c->sieve_global);
	free(c->sieve_dir);
	free(c->sieve_pipe_bin_dir);
	free(c->sieve_filter_bin_dir);
	free(c->sieve_execute_bin_dir);
	free(c->sieve_user_log);
	free(c->sieve_extensions);
	free(c->sieve_spamtest_status_type);
	free(c->sieve_spamtest_status_header);
	free(c->sieve_spamtest_max_header);
	free(c->sieve_spamtest_max_value);
	free(c->sieve_virustest_status_type);
	free(c->sieve_virustest_status_header);
	free(c->sieve_virustest_max_header);
	free(c->sieve_virustest_max_value);
	for (size_t i = 0; i < 11; i++)
		free(c->sieve_spamtest_text_value[i]);
	for (size_t i = 0; i < 6; i++)
		free(c->sieve_virustest_text_value[i]);
	free(c->sieve_editheader_protected);
	free(c->sieve_editheader_forbid_add);
	free(c->sieve_editheader_forbid_delete);
	free(c->sendmail_path);
	free(c->postmaster_address);
	free(c->store);
	free(c->score_rules);
	free(c->score_cache_dir);
	free(c->score_trusted_authserv_id);
	free(c->milter_socket);
	free(c->milter_user);
	free(c->milter_pid_file);
	free(c->milter_store_fail);
	free(c->milter_stats_file);
	free(c->trusted_networks);
	free(c->authserv_id);
	free(c->ratelimit_client);
	free(c->ratelimit_sender);
	free(c->ratelimit_user);
	free(c->spf_user);
	free(c->spf_resolver);
	memset(c, 0, sizeof *c);
}

static int
parse_bool(const char *v, int *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* "300", "300s", "5m", "1h"; 1 second to 1 day. */
static int
parse_secs(const char *v, unsigned *out)
{
	unsigned long n;
	char *end;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == 'm' || !strcmp(end, "min"))
		n *= 60, end += *end == 'm' && end[1] == '\0' ? 1 : 3;
	else if (*end == 'h')
		n *= 3600, end++;
	else if (*end == 's')
		end++;
	if (*end != '\0' || n < 1 || n > 86400)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* "100", "64k", "1M", "1G" (Dovecot size units, binary). */
static int
parse_size(const char *v, unsigned long *out)
{
	unsigned long long n, mul = 1;
	char *end;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': mul = 1024; end++; break;
	case 'm': case 'M': mul = 1024 * 1024; end++; break;
	case 'g': case 'G': mul = 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || n > ULONG_MAX / mul)
		return -1;
	*out = (unsigned long)(n * mul);
	return 0;
}

/* Dovecot's time values: "0", "90", "90s", "30m", "12h", "7d", "2w" (also
 * "secs", "mins", "hours", "days", "weeks"); 0 to 10 years. */
static int
parse_period(const char *v, long *out)
{
	static const struct { const char *u; long mul; } units[] = {
		{ "", 1 }, { "s", 1 }, { "sec", 1 }, { "secs", 1 },
		{ "m", 60 }, { "min", 60 }, { "mins", 60 }, { "h", 3600 },
		{ "hour", 3600 }, { "hours", 3600 }, { "d", 86400 },
		{ "day", 86400 }, { "days", 86400 }, { "w", 604800 },
		{ "week", 604800 }, { "weeks", 604800 },
	};
	unsigned long n;
	char *end;
	size_t i;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || n > 10UL * 366 * 86400)
		return -1;
	while (*end == ' ')
		end++;
	for (i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(end, units[i].u) == 0) {
			if (n * (unsigned long)units[i].mul > 10UL * 366 * 86400)
				return -1;
			*out = (long)n * units[i].mul;
			return 0;
		}
	return -1;
}

/* A score threshold: "-5", "7.5", or "off" (CONF_SCORE_OFF). */
static int
parse_score(const char *v, double *out)
{
	double d;
	char *end;

	if (strcmp(v, "off") == 0) {
		*out = CONF_SCORE_OFF;
		return 0;
	}
	errno = 0;
	d = strtod(v, &end);
	/* rule scores are small; this also rejects nan and inf */
	if (end == v || *end != '\0' || errno != 0 || !(d > -10000.0 &&
	    d < 10000.0))
		return -1;
	*out = d;
	return 0;
}

static int
parse_uint(const char *v, unsigned *out)
{
	unsigned long n;
	char *end;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n > 1000000)
		return -1;
	*out = (unsigned)n;
	return 0;
}

int
conf_set(struct conf *c, const char *key, const char *value,
    const char *where, struct err *e)
{
	size_t i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const struct key *k = &keys[i];
		void *field = (char *)c + k->off;

		if (strcmp(k->name, key) != 0)
			continue;
		switch (k->type) {
		case K_STR:
			free(*(char **)field);
			*(char **)field = xstrdup(value);
			return 0;
		case K_BOOL:
			if (parse_bool(value, field) == -1)
				return err_set(e, ERR_CONFIG,
				    "%s: %s: expected yes or no, got \"%s\"",
				    where, key, value);
			return 0;
		case K_SECS:
			if (parse_secs(value, field) == -1)
				return err_set(e, ERR_CONFIG,
				    "%s: %s: expected seconds (1..86400), "
				    "got \"%s\"", where, key, value);
			return 0;
		case K_UINT:
			if (parse_uint(value, field) == -1)
				return err_set(e, ERR_CONFIG,
				    "%s: %s: expected a number, got \"%s\"",
				    where, key, value);
			return 0;
		case K_PERIOD:
			if (parse_period(value, field) == -1)
				return err_set(e, ERR_CONFIG,
				    "%s: %s: expected a time (e.g. 7d, 12h, 0), "
				    "got \"%s\"", where, key, value);
			return 0;
		case K_SIZE:
			if (parse_size(value, field) == -1)
				return err_set(e, ERR_CONFIG,
				    "%s: %s: expected a size (e.g. 1M), got "
				    "\"%s\"", where, key, value);
			return 0;
		case K_SCORE:
			if (parse_score(value, field) == -1)
				return err_set(e, ERR_CONFIG,
				    "%s: %s: expected a score (e.g. 7.5) or "
				    "\"off\", got \"%s\"", where, key, value);
			return 0;
		case K_SEP:
			if ((value[0] != '.' && value[0] != '/') ||
			    value[1] != '\0')
				return err_set(e, ERR_CONFIG,
				    "%s: %s: expected \".\" or \"/\"", where,
				    key);
			*(char *)field = value[0];
			return 0;
		}
	}
	return err_set(e, ERR_CONFIG, "%s: unknown setting \"%s\"", where, key);
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

int
conf_load(struct conf *c, const char *path, int must_exist, struct err *e)
{
	char line[CONF_MAX_LINE + 2], where[PATH_MAX + 32];
	unsigned lineno = 0;
	int ret = -1;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return err_set(e, ERR_CONFIG, "%s: %s", path, strerror(errno));
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		char *s, *eq, *key, *value;

		lineno++;
		(void)snprintf(where, sizeof where, "%s:%u", path, lineno);
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			err_set(e, ERR_CONFIG, "%s: line too long", where);
			goto out;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			err_set(e, ERR_CONFIG, "%s: expected \"key = value\"",
			    where);
			goto out;
		}
		*eq = '\0';
		key = trim(s);
		value = trim(eq + 1);
		if (conf_set(c, key, value, where, e) == -1)
			goto out;
	}
	if (ferror(fp)) {
		err_set(e, ERR_CONFIG, "%s: read error", path);
		goto out;
	}
	free(c->path);
	c->path = xstrdup(path);
	ret = 0;
out:
	fclose(fp);
	return ret;
}
