/*
 * exec.c - the spool file and the executor of action lists.
 *
 * The message is spooled once into root/tmp/<unique>. Every Maildir target
 * gets a hard link of it in its own tmp/ (a copy when links are not
 * possible), then all are renamed into new/ or cur/ and each directory is
 * fsync'd. Either every target gets the message or, after a temporary
 * failure, none keeps it and the caller exits 75: a retry by Postfix then
 * never makes a duplicate.
 *
 * Around that core (deliver.h has the whole contract): message edits and
 * filters first, outbound actions after the commit, store marks last.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/limits.h"
#include "../lib/log.h"
#include "../store/store.h"
#include "deliver.h"

enum tkind { T_MAILDIR, T_MBOX };

struct target {
	enum tkind kind;
	char folder[FOLDER_MAX_NAME * 4 + 8];	/* for logs: "INBOX", "Lists.x" */
	char dir[PATH_MAX];	/* Maildir directory or mbox file */
	char tmp[PATH_MAX];	/* staged file in dir/tmp */
	char final[PATH_MAX];	/* where it went */
	unsigned flags;
	char keywords[27];	/* dovecot-keywords letters */
	int staged, committed, is_spool;
};

int
deliver_spool_open(struct deliver_ctx *d, struct err *e)
{
	if (!maildir_exists(d->root) && maildir_make(d->root, 0, e) == -1)
		return -1;
	if (maildir_unique(d->unique, sizeof d->unique, d->host) == -1)
		return err_set(e, ERR_INTERNAL, "unique name too long");
	if (buf_fmt(d->spool_path, sizeof d->spool_path, "%s/tmp/%s",
	    d->root, d->unique) == -1)
		return err_set(e, ERR_TEMP, "path too long: %s", d->root);
	d->spool_fd = open(d->spool_path, O_RDWR | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (d->spool_fd == -1)
		return err_sys(e, errno, "create %s", d->spool_path);
	d->spool_linked = 0;
	return 0;
}

int
deliver_spool_sync(struct deliver_ctx *d, struct err *e)
{
	if (fsync(d->spool_fd) == -1)
		return err_sys(e, errno, "fsync %s", d->spool_path);
	return 0;
}

void
deliver_spool_close(struct deliver_ctx *d)
{
	if (d->spool_fd >= 0)
		close(d->spool_fd);
	d->spool_fd = -1;
	if (!d->spool_linked && d->spool_path[0] != '\0')
		(void)unlink(d->spool_path);
	d->spool_path[0] = '\0';
}

int
deliver_spool_copy(struct deliver_ctx *d, off_t off, int fd, const char *path,
    struct err *e)
{
	char *blk = xmalloc(MSG_IO_CHUNK);
	int ret = -1;

	for (;;) {
		ssize_t r = pread(d->spool_fd, blk, MSG_IO_CHUNK, off);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_sys(e, errno, "read %s", d->spool_path);
			goto out;
		}
		if (r == 0)
			break;
		if (write_all(fd, blk, (size_t)r) == -1) {
			err_sys(e, errno, "write %s", path);
			goto out;
		}
		off += r;
	}
	ret = 0;
out:
	free(blk);
	return ret;
}

/* Copy the spool into a new file at path (when link() is impossible). */
static int
copy_spool(struct deliver_ctx *d, const char *path, struct err *e)
{
	int fd, ret = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return err_sys(e, errno, "create %s", path);
	if (deliver_spool_copy(d, 0, fd, path, e) == -1)
		goto out;
	if (fsync(fd) == -1) {
		err_sys(e, errno, "fsync %s", path);
		goto out;
	}
	ret = 0;
out:
	if (close(fd) == -1 && ret == 0)
		ret = err_sys(e, errno, "close %s", path);
	if (ret == -1)
		(void)unlink(path);
	return ret;
}

/* Put the spool into t->dir/tmp (the spool itself for the root). */
static int
stage(struct deliver_ctx *d, struct target *t, int spool_free, struct err *e)
{
	if (spool_free && strcmp(t->dir, d->root) == 0) {
		(void)snprintf(t->tmp, sizeof t->tmp, "%s", d->spool_path);
		t->is_spool = 1;
		t->staged = 1;
		return 0;
	}
	if (buf_fmt(t->tmp, sizeof t->tmp, "%s/tmp/%s", t->dir,
	    d->unique) == -1)
		return err_set(e, ERR_TEMP, "path too long: %s", t->dir);
	if (link(d->spool_path, t->tmp) == -1) {
		if (errno != EXDEV && errno != EPERM && errno != EMLINK)
			return err_sys(e, errno, "link %s", t->tmp);
		if (copy_spool(d, t->tmp, e) == -1)
			return -1;
	}
	t->staged = 1;
	return 0;
}

static int
final_name(struct deliver_ctx *d, struct target *t, struct err *e)
{
	char fl[8];
	int r;

	flags_to_maildir(t->flags, fl);
	if (fl[0] == '\0' && t->keywords[0] == '\0')
		r = buf_fmt(t->final, sizeof t->final, "%s/new/%s,S=%lld,W=%lld",
		    t->dir, d->unique, (long long)d->msg->size,
		    (long long)d->msg->vsize);
	else
		r = buf_fmt(t->final, sizeof t->final,
		    "%s/cur/%s,S=%lld,W=%lld:2,%s%s", t->dir, d->unique,
		    (long long)d->msg->size, (long long)d->msg->vsize, fl,
		    t->keywords);
	if (r == -1)
		return err_set(e, ERR_TEMP, "path too long: %s", t->dir);
	return 0;
}

static int
commit(struct target *t, struct err *e)
{
	char dir[PATH_MAX];
	char *slash;

	if (rename(t->tmp, t->final) == -1)
		return err_sys(e, errno, "rename %s", t->final);
	t->committed = 1;
	(void)snprintf(dir, sizeof dir, "%s", t->final);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	return maildir_fsync_dir(dir, e);
}

/* Undo whatever became visible or was staged. */
static void
rollback(struct target *tv, size_t n)
{
	struct err ignored;
	size_t i;

	for (i = 0; i < n; i++) {
		struct target *t = &tv[i];
		char dir[PATH_MAX];
		char *slash;

		if (t->kind != T_MAILDIR)
			continue;
		if (t->committed) {
			if (unlink(t->final) == -1)
				log_warn("rollback: unlink %s", t->final);
			(void)snprintf(dir, sizeof dir, "%s", t->final);
			if ((slash = strrchr(dir, '/')) != NULL)
				*slash = '\0';
			(void)maildir_fsync_dir(dir, &ignored);
		} else if (t->staged && !t->is_spool) {
			(void)unlink(t->tmp);
		}
		t->committed = t->staged = 0;
	}
}

static struct target *
find_target(struct target *tv, size_t n, enum tkind kind, const char *dir)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tv[i].kind == kind && strcmp(tv[i].dir, dir) == 0)
			return &tv[i];
	return NULL;
}

/* Add the folder target for a keep/fileinto (merging duplicates: RFC 5228
 * 4.1, a message is filed into one mailbox once). 1: added or merged, 0:
 * failed permanently (a->err set), -1: temporary failure (e set). */
static int
add_maildir(struct deliver_ctx *d, struct target *tv, size_t *n,
    struct action *a, const char *folder, size_t *idx_out, struct err *e)
{
	char dir[PATH_MAX];
	struct target *t;
	size_t k;

	if (maildir_folder_path(d->root, folder, d->sep, dir, sizeof dir,
	    &a->err) == -1) {
		if (a->err.cls == ERR_TEMP) {
			*e = a->err;
			return -1;
		}
		return 0;
	}
	if (!maildir_exists(dir)) {
		if (!a->create && !d->autocreate) {
			err_status(&a->err, ERR_PERM, "5.2.0",
			    "mailbox %s does not exist", folder);
			return 0;
		}
		/* DESIGN.md: -m and procmail-style creations subscribe the
		 * folder, Sieve :create does not (as Pigeonhole). */
		/* A dry run only says where it would go. */
		if (!d->dry_run && (strcmp(dir, d->root) == 0 ?
		    maildir_make(dir, 0, e) :
		    maildir_make_folder(d->root, dir, folder, d->sep,
		    a->subscribe || (!a->create && d->autosubscribe), e)) == -1)
			return -1;
	}
	if ((t = find_target(tv, *n, T_MAILDIR, dir)) == NULL) {
		t = &tv[(*n)++];
		memset(t, 0, sizeof *t);
		t->kind = T_MAILDIR;
		(void)snprintf(t->dir, sizeof t->dir, "%s", dir);
		(void)snprintf(t->folder, sizeof t->folder, "%s", folder);
	}
	*idx_out = (size_t)(t - tv);
	t->flags |= a->flags;
	for (k = 0; a->keywords != NULL && a->keywords[k] != NULL; k++) {
		int c = maildir_keyword_letter(dir, a->keywords[k]);
		size_t len = strlen(t->keywords);

		/* DESIGN.md: only letters dovecot-keywords already maps. */
		if (c == 0) {
			log_info("keyword \"%s\" not in %s/dovecot-keywords, "
			    "skipped", a->keywords[k], dir);
			continue;
		}
		if (strchr(t->keywords, c) == NULL && len + 1 < sizeof t->keywords) {
			/* keep the letters sorted: Maildir info is ordered */
			size_t j = len;

			while (j > 0 && t->keywords[j - 1] > c) {
				t->keywords[j] = t->keywords[j - 1];
				j--;
			}
			t->keywords[j] = (char)c;
			t->keywords[len + 1] = '\0';
		}
	}
	return 1;
}



/* Quota, stage and commit every target in tv[0..n). */
static int
store_targets(struct deliver_ctx *d, struct target *tv, size_t n,
    struct err *e)
{
	size_t i, stored = 0;

	for (i = 0; i < n; i++)
		stored += tv[i].kind == T_MAILDIR && !tv[i].committed;
	if (d->dry_run) {
		/* Where it would go; nothing is created or written. */
		for (i = 0; i < n; i++) {
			if (tv[i].kind == T_MAILDIR) {
				if (final_name(d, &tv[i], e) == -1)
					return -1;
			} else {
				(void)snprintf(tv[i].final, sizeof tv[i].final,
				    "%s", tv[i].dir);
			}
			tv[i].committed = 1;
		}
		return 0;
	}

	/* Quota (Maildir++ counts the whole tree under root). */
	if (stored > 0 && quota_check(d->root, d->msg->size * (off_t)stored,
	    d->quota_tempfail, e) == -1)
		return -1;

	/* Stage every Maildir target; the root may take the spool itself,
	 * last, so that the links above still find it. */
	for (i = 0; i < n; i++)
		if (tv[i].kind == T_MAILDIR && !tv[i].committed &&
		    strcmp(tv[i].dir, d->root) != 0 && stage(d, &tv[i], 0, e) == -1)
			goto fail;
	for (i = 0; i < n; i++)
		if (tv[i].kind == T_MAILDIR && !tv[i].committed &&
		    strcmp(tv[i].dir, d->root) == 0 && stage(d, &tv[i], 1, e) == -1)
			goto fail;

	/* Commit: from here a deadline no longer aborts. */
	d->committing = 1;
	for (i = 0; i < n; i++) {
		if (tv[i].kind != T_MAILDIR || tv[i].committed)
			continue;
		if (final_name(d, &tv[i], e) == -1 || commit(&tv[i], e) == -1)
			goto fail;
		if (tv[i].is_spool)
			d->spool_linked = 1;
	}
	for (i = 0; i < n; i++) {
		if (tv[i].kind != T_MBOX || tv[i].committed)
			continue;
		if (mbox_deliver(tv[i].dir, d->spool_fd, d->msg->size,
		    d->sender, time(NULL), e) == -1)
			goto fail;
		(void)snprintf(tv[i].final, sizeof tv[i].final, "%s", tv[i].dir);
		tv[i].committed = 1;
	}
	if (stored > 0)
		quota_add(d->root, d->msg->size * (off_t)stored, (int)stored);
	return 0;
fail:
	rollback(tv, n);
	d->spool_linked = 0;
	return -1;
}

/* vnd.dovecot.filter: the program's output becomes the message. 0, or -1
 * (ERR_TEMP) on a local I/O error; a failing program only fails a. */
static int
run_filter(struct deliver_ctx *d, struct action *a, struct err *e)
{
	struct program_opts o;
	struct program_result r;
	const char *argv[64], *env[4];
	char path[PATH_MAX], raw[PATH_MAX], spool[PATH_MAX], unique[256];
	char s1[1100], s2[1100], how[64];
	struct msg *nm = NULL;
	int rawfd = -1, fd = -1, ret = -1;
	size_t k;

	memset(&r, 0, sizeof r);
	if (program_resolve(d->filter_bin_dir, a->arg, path, sizeof path,
	    &a->err) == -1) {
		a->status = ACT_FAILED;
		log_err("filter: %s, message left as it was", a->err.msg);
		return 0;
	}
	argv[0] = path;
	for (k = 0; a->argv != NULL && a->argv[k] != NULL && k < 62; k++)
		argv[k + 1] = a->argv[k];
	argv[k + 1] = NULL;
	if (d->dry_run) {
		a->status = ACT_DONE;
		free(a->result);
		a->result = xstrdup("dry run: filter not run");
		return 0;
	}
	if (maildir_unique(unique, sizeof unique, d->host) == -1 ||
	    buf_fmt(raw, sizeof raw, "%s/tmp/%s.filter", d->root, unique) == -1 ||
	    buf_fmt(spool, sizeof spool, "%s/tmp/%s", d->root, unique) == -1)
		return err_set(e, ERR_TEMP, "path too long: %s", d->root);
	rawfd = open(raw, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (rawfd == -1)
		return err_sys(e, errno, "create %s", raw);
	(void)unlink(raw);	/* anonymous from now on */

	program_opts_init(&o);
	o.argv = argv;
	o.envp = deliver_prog_env(d, env, s1, s2, sizeof s1);
	o.in_fd = d->spool_fd;
	o.out_fd = rawfd;
	o.out_cap = DELIVER_FILTER_MAX;
	o.timeout = d->prog_timeout ? d->prog_timeout : DELIVER_PROGRAM_TIMEOUT;
	if (program_run(&o, &r, &a->err) == -1 || !program_ok(&r) ||
	    r.out_truncated || r.out_len == 0) {
		if (a->err.cls == ERR_NONE)
			err_status(&a->err, ERR_PERM, "5.3.0", "filter %s: %s%s",
			    a->arg, r.out_truncated ? "output too large" :
			    r.out_len == 0 && program_ok(&r) ? "no output" :
			    program_describe(&r, how, sizeof how), "");
		a->status = ACT_FAILED;
		log_err("%s, message left as it was", a->err.msg);
		ret = 0;
		goto out;
	}
	/* The output is a message like any other: stored form, sizes. */
	if (lseek(rawfd, 0, SEEK_SET) == -1) {
		err_sys(e, errno, "seek %s", raw);
		goto out;
	}
	fd = open(spool, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		err_sys(e, errno, "create %s", spool);
		goto out;
	}
	nm = msg_new();
	if (msg_spool(nm, rawfd, fd, e) == -1 ||
	    deliver_spool_replace(d, fd, spool, unique, e) == -1)
		goto out;
	fd = -1;
	a->status = ACT_DONE;
	free(a->result);
	a->result = xstrdup(d->spool_path);
	ret = 0;
out:
	if (fd != -1) {
		(void)close(fd);
		(void)unlink(spool);
	}
	if (rawfd != -1)
		(void)close(rawfd);
	msg_free(&nm);
	program_result_free(&r);
	return ret;
}

/* vnd.dovecot.pipe/execute: the message on the program's stdin, with
 * CRLF line ends as Pigeonhole sends it (the spool has LF). 0 done,
 * -1 failed (a->err and e: ERR_TEMP for exit 75 or a timeout). */
static int
run_pipe(struct deliver_ctx *d, struct action *a, struct err *e)
{
	struct program_opts o;
	struct program_result r;
	const char *argv[64], *env[4];
	char path[PATH_MAX], s1[1100], s2[1100], how[64], q[256];
	size_t k;
	int ret = -1;

	if (program_resolve(d->pipe_bin_dir, a->arg, path, sizeof path,
	    e) == -1)
		goto fail;
	argv[0] = path;
	for (k = 0; a->argv != NULL && a->argv[k] != NULL && k < 62; k++)
		argv[k + 1] = a->argv[k];
	argv[k + 1] = NULL;
	if (d->dry_run) {
		a->status = ACT_DONE;
		free(a->result);
		a->result = xstrdup("dry run: would pipe to the program");
		return 0;
	}
	program_opts_init(&o);
	o.argv = argv;
	o.envp = deliver_prog_env(d, env, s1, s2, sizeof s1);
	o.in_fd = d->spool_fd;
	o.in_crlf = 1;	/* Pigeonhole's sieve_pipe_input_eol = crlf */
	o.out_cap = 4096;
	o.timeout = d->prog_timeout ? d->prog_timeout : DELIVER_PROGRAM_TIMEOUT;
	if (program_run(&o, &r, e) == -1) {
		e->cls = ERR_PERM;
		program_result_free(&r);
		goto fail;
	}
	if (program_ok(&r)) {
		a->status = ACT_DONE;
		free(a->result);
		a->result = xstrdup(path);
		ret = 0;
	} else {
		int temp = r.timed_out || (r.exited && r.status == 75);

		err_status(e, temp ? ERR_TEMP : ERR_PERM, temp ? "4.3.0" :
		    "5.3.0", "pipe %s: %s%s%s", a->arg, program_describe(&r, how,
		    sizeof how), r.err.len ? ": " : "", r.err.len ?
		    log_quote(q, sizeof q, r.err.data, r.err.len) : "");
	}
	program_result_free(&r);
	if (ret == 0)
		return 0;
fail:
	a->status = ACT_FAILED;
	a->err = *e;
	log_err("%s", e->msg);
	return -1;
}

/* Add (or find) the INBOX target for a keep action at l->v[i]. */
static int
add_keep(struct deliver_ctx *d, struct action_list *l, const char *origin,
    struct target *tv, size_t *n, size_t *tidx, struct err *e)
{
	struct action *a = actions_add(l, ACT_KEEP, NULL, origin);
	int r;

	if (a == NULL)
		return err_set(e, ERR_INTERNAL, "too many actions");
	if ((r = add_maildir(d, tv, n, a, "INBOX", &tidx[l->n - 1], e)) != 1) {
		if (r == 0) {
			/* INBOX must always work: retry later. */
			*e = a->err;
			e->cls = ERR_TEMP;
		}
		return -1;
	}
	return 0;
}

/* Record outcomes of the storing actions. */
static void
record(struct action_list *l, struct target *tv, size_t *tidx)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		struct action *a = &l->v[i];

		if (a->status != ACT_PENDING || tidx[i] == SIZE_MAX ||
		    !tv[tidx[i]].committed)
			continue;
		a->status = ACT_DONE;
		free(a->result);
		a->result = xstrdup(tv[tidx[i]].final);
	}
}

int
deliver_run(struct deliver_ctx *d, struct action_list *l, struct err *e)
{
	struct target *tv;
	size_t n = 0, i, j, *tidx, n0 = l->n, stored_local = 0;
	int keep = l->implicit_keep, ret = -1, r, sent = 0, need_keep = 0;
	int abandon = 0;

	/* Room for every action plus the implicit and a fallback keep. */
	tv = xcalloc(l->n + 2, sizeof *tv);
	tidx = xcalloc(l->n + 2, sizeof *tidx);
	for (i = 0; i < l->n + 2; i++)
		tidx[i] = SIZE_MAX;

	/* 1. Message edits and filters, in list order. */
	for (i = 0; i < n0; i = j) {
		for (j = i; j < n0 && l->v[j].type != ACT_FILTER; j++)
			err_clear(&l->v[j].err);
		if (j > i && edit_apply(d, &l->v[i], j - i, e) == -1)
			goto out;
		if (j < n0) {
			err_clear(&l->v[j].err);
			if (run_filter(d, &l->v[j], e) == -1)
				goto out;
			j++;
		}
	}

	/* 2. Resolve the storing targets. */
	for (i = 0; i < n0; i++) {
		struct action *a = &l->v[i];
		struct target *t;

		switch (a->type) {
		case ACT_KEEP:
		case ACT_FILEINTO:
			r = add_maildir(d, tv, &n, a,
			    a->type == ACT_KEEP ? "INBOX" : a->arg, &tidx[i], e);
			if (r == -1)
				goto out;
			if (r == 0) {
				a->status = ACT_FAILED;
				log_err("%s %s failed (%s), keeping in INBOX",
				    action_type_name(a->type),
				    a->arg ? a->arg : "", a->err.msg);
				abandon = 1;
			}
			break;
		case ACT_MBOX:
			if ((t = find_target(tv, n, T_MBOX, a->arg)) == NULL) {
				t = &tv[n++];
				memset(t, 0, sizeof *t);
				t->kind = T_MBOX;
				if (buf_fmt(t->dir, sizeof t->dir, "%s",
				    a->arg) == -1) {
					err_set(e, ERR_TEMP, "path too long");
					goto out;
				}
				(void)snprintf(t->folder, sizeof t->folder,
				    "%s", a->arg);
			}
			tidx[i] = (size_t)(t - tv);
			break;
		case ACT_DISCARD:
			a->status = ACT_DONE;
			break;
		case ACT_EREJECT:
			/* RFC 5429 2.1: refuse in protocol: exit 77. */
			a->status = ACT_DONE;
			err_status(e, ERR_PERM, "5.7.1", "%s",
			    a->arg ? a->arg : "rejected");
			goto out;
		case ACT_ADDHEADER:
		case ACT_DELETEHEADER:
		case ACT_FILTER:
			/* done in step 1 */
			break;
		case ACT_REDIRECT:
		case ACT_REJECT:
		case ACT_VACATION:
		case ACT_NOTIFY:
		case ACT_PIPE:
		case ACT_STORE_MARK:
			/* after the commit */
			break;
		default:
			/* Never lose mail over what we cannot do: keep. */
			a->status = ACT_UNSUPPORTED;
			err_status(&a->err, ERR_PERM, "5.5.1",
			    "%s is not supported by this build",
			    action_type_name(a->type));
			log_err("%s, keeping in INBOX", a->err.msg);
			keep = 1;
			break;
		}
	}
	if (abandon) {
		/*
		 * Pigeonhole: when a storing action fails, the whole result
		 * is rolled back and only the implicit keep happens (RFC
		 * 5228 2.10.6 leaves it to us; users expect what Dovecot
		 * did). Nothing else is stored, sent or remembered.
		 */
		for (i = 0; i < n0; i++) {
			struct action *a = &l->v[i];

			if (a->status != ACT_PENDING && a->status != ACT_DONE)
				continue;
			if (a->type == ACT_ADDHEADER ||
			    a->type == ACT_DELETEHEADER ||
			    a->type == ACT_FILTER)
				continue;	/* already applied */
			a->status = ACT_SKIPPED;
			err_status(&a->err, ERR_PERM, "5.0.0",
			    "not carried out: another action failed");
		}
		n = 0;
		for (i = 0; i < l->n + 2; i++)
			tidx[i] = SIZE_MAX;
		keep = 1;
	}
	if (keep && add_keep(d, l, "implicit keep", tv, &n, tidx, e) == -1)
		goto out;

	/* 3. Store, all or nothing. */
	if (store_targets(d, tv, n, e) == -1)
		goto out;
	record(l, tv, tidx);
	for (i = 0; i < n; i++)
		stored_local += tv[i].committed;

	/* 4. Outbound, in list order. */
	for (i = 0; i < n0; i++) {
		struct action *a = &l->v[i];
		struct err se;
		int carries;

		err_clear(&se);
		if (a->status == ACT_SKIPPED)
			continue;	/* rolled back */
		switch (a->type) {
		case ACT_REDIRECT:
			r = sendmail_redirect(d, a, &se);
			carries = 1;
			break;
		case ACT_REJECT:
			r = sendmail_reject(d, a, &se);
			carries = 1;
			break;
		case ACT_PIPE:
			r = run_pipe(d, a, &se);
			carries = 1;
			break;
		case ACT_VACATION:
			(void)sendmail_vacation(d, a, &se);
			continue;
		case ACT_NOTIFY:
			(void)sendmail_notify(d, a, &se);
			continue;
		default:
			continue;
		}
		if (r == 0) {
			sent += a->status == ACT_DONE;
			continue;
		}
		if (!carries || stored_local > 0)
			continue;
		if (se.cls == ERR_TEMP && sent == 0) {
			/* Nothing happened yet: let Postfix retry it all. */
			*e = se;
			goto out;
		}
		need_keep = 1;
	}
	if (need_keep) {
		log_err("an action carrying the message failed and it was "
		    "stored nowhere: keeping it in INBOX");
		if (add_keep(d, l, "fallback keep", tv, &n, tidx, e) == -1 ||
		    store_targets(d, tv, n, e) == -1)
			goto out;
		record(l, tv, tidx);
	}

	/* 5. Store marks (duplicate), now that the delivery is done. */
	for (i = 0; i < n0; i++) {
		struct action *a = &l->v[i];
		struct err se;

		if (a->type != ACT_STORE_MARK || a->status == ACT_SKIPPED)
			continue;
		if (d->dry_run) {
			a->status = ACT_DONE;
			free(a->result);
			a->result = xstrdup("dry run: not remembered");
		} else if (d->store == NULL ||
		    a->arg == NULL) {
			a->status = ACT_SKIPPED;
			log_info("no state store: duplicate mark skipped");
		} else if (store_set(d->store, (struct span){ a->arg,
		    strlen(a->arg) }, SPAN_LIT("1"), a->period, &se) == -1) {
			a->status = ACT_FAILED;
			a->err = se;
			log_err("store: %s (duplicate mark lost)", se.msg);
		} else {
			a->status = ACT_DONE;
		}
	}
	ret = 0;
out:
	if (ret == -1)
		for (i = 0; i < l->n; i++)
			if (l->v[i].status == ACT_PENDING)
				l->v[i].status = ACT_FAILED;
	free(tidx);
	free(tv);
	return ret;
}
