/*
 * exec.c - the spool file and the executor of action lists.
 *
 * The message is spooled once into root/tmp/<unique>. Every Maildir target
 * gets a hard link of it in its own tmp/ (a copy when links are not
 * possible), then all are renamed into new/ or cur/ and each directory is
 * fsync'd. Either every target gets the message or, after a temporary
 * failure, none keeps it and the caller exits 75: a retry by Postfix then
 * never makes a duplicate.
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

/* Copy the spool into a new file at path (when link() is impossible). */
static int
copy_spool(struct deliver_ctx *d, const char *path, struct err *e)
{
	char *blk = xmalloc(MSG_IO_CHUNK);
	off_t off = 0;
	int fd, ret = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		err_sys(e, errno, "create %s", path);
		goto out;
	}
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
	if (fsync(fd) == -1) {
		err_sys(e, errno, "fsync %s", path);
		goto out;
	}
	ret = 0;
out:
	if (fd != -1 && close(fd) == -1 && ret == 0)
		ret = err_sys(e, errno, "close %s", path);
	if (ret == -1 && fd != -1)
		(void)unlink(path);
	free(blk);
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
		if ((strcmp(dir, d->root) == 0 ? maildir_make(dir, 0, e) :
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

int
deliver_run(struct deliver_ctx *d, struct action_list *l, struct err *e)
{
	struct target *tv;
	size_t n = 0, i, stored = 0, *tidx;
	int keep = l->implicit_keep, ret = -1, r;

	tv = xcalloc(l->n + 1, sizeof *tv);
	tidx = xcalloc(l->n + 1, sizeof *tidx);
	for (i = 0; i < l->n + 1; i++)
		tidx[i] = SIZE_MAX;

	/* 1. Resolve targets. */
	for (i = 0; i < l->n; i++) {
		struct action *a = &l->v[i];
		struct target *t;

		err_clear(&a->err);
		switch (a->type) {
		case ACT_KEEP:
		case ACT_FILEINTO:
			r = add_maildir(d, tv, &n, a,
			    a->type == ACT_KEEP ? "INBOX" : a->arg, &tidx[i], e);
			if (r == -1)
				goto out;
			if (r == 0) {
				/* Pigeonhole: a failed fileinto falls back
				 * to the implicit keep. */
				a->status = ACT_FAILED;
				log_err("%s %s failed (%s), keeping in INBOX",
				    action_type_name(a->type),
				    a->arg ? a->arg : "", a->err.msg);
				keep = 1;
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
		case ACT_VACATION:
			a->status = ACT_UNSUPPORTED;
			log_err("%s is not supported by this build, ignored",
			    action_type_name(a->type));
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
	if (keep) {
		/* The implicit keep (or a fallback) becomes a visible action
		 * so that logs and traces show where the message went. */
		struct action *a = actions_add(l, ACT_KEEP, NULL,
		    "implicit keep");

		if (a == NULL) {
			err_set(e, ERR_INTERNAL, "too many actions");
			goto out;
		}
		i = l->n - 1;
		if ((r = add_maildir(d, tv, &n, a, "INBOX", &tidx[i], e)) != 1) {
			if (r == 0) {
				/* INBOX must always work: retry later. */
				*e = a->err;
				e->cls = ERR_TEMP;
			}
			goto out;
		}
	}

	/* 2. Quota (Maildir++ counts the whole tree under root). */
	for (i = 0; i < n; i++)
		stored += tv[i].kind == T_MAILDIR;
	if (stored > 0 && quota_check(d->root, d->msg->size * (off_t)stored,
	    d->quota_tempfail, e) == -1)
		goto out;

	/* 3. Stage every Maildir target; the root may take the spool itself,
	 * last, so that the links above still find it. */
	for (i = 0; i < n; i++)
		if (tv[i].kind == T_MAILDIR && strcmp(tv[i].dir, d->root) != 0 &&
		    stage(d, &tv[i], 0, e) == -1)
			goto fail;
	for (i = 0; i < n; i++)
		if (tv[i].kind == T_MAILDIR && strcmp(tv[i].dir, d->root) == 0 &&
		    stage(d, &tv[i], 1, e) == -1)
			goto fail;

	/* 4. Commit: from here a deadline no longer aborts. */
	d->committing = 1;
	for (i = 0; i < n; i++) {
		if (tv[i].kind != T_MAILDIR)
			continue;
		if (final_name(d, &tv[i], e) == -1 || commit(&tv[i], e) == -1)
			goto fail;
		if (tv[i].is_spool)
			d->spool_linked = 1;
	}
	for (i = 0; i < n; i++) {
		if (tv[i].kind != T_MBOX)
			continue;
		if (mbox_deliver(tv[i].dir, d->spool_fd, d->msg->size,
		    d->sender, time(NULL), e) == -1)
			goto fail;
		(void)snprintf(tv[i].final, sizeof tv[i].final, "%s", tv[i].dir);
		tv[i].committed = 1;
	}
	if (stored > 0)
		quota_add(d->root, d->msg->size * (off_t)stored, (int)stored);

	/* 5. Record outcomes on the actions. */
	for (i = 0; i < l->n; i++) {
		struct action *a = &l->v[i];

		if (a->status != ACT_PENDING || tidx[i] == SIZE_MAX ||
		    !tv[tidx[i]].committed)
			continue;
		a->status = ACT_DONE;
		free(a->result);
		a->result = xstrdup(tv[tidx[i]].final);
	}
	ret = 0;
	goto out;
fail:
	rollback(tv, n);
	d->spool_linked = 0;
out:
	if (ret == -1)
		for (i = 0; i < l->n; i++)
			if (l->v[i].status == ACT_PENDING)
				l->v[i].status = ACT_FAILED;
	free(tidx);
	free(tv);
	return ret;
}
