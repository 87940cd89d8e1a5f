/*
 * deliver.h - the delivery layer: Maildir++ (as Dovecot reads it), mbox,
 * quota, and the executor that carries out an action list.
 *
 * Safe-write contract (DESIGN.md): create in tmp/ with O_EXCL|O_NOFOLLOW,
 * write all, fsync, rename/link into new/ (or cur/ with ":2,FLAGS"), fsync
 * the directory. A crash at any point leaves either the complete message
 * or nothing visible. Every function returns 0, or -1 with e set; system
 * errors are ERR_TEMP (exit 75).
 */
#ifndef SLUICE_DELIVER_H
#define SLUICE_DELIVER_H

#include <limits.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>

#include "../lib/buf.h"
#include "../lib/err.h"
#include "../msg/msg.h"
#include "../rules/action.h"

/* ---- Maildir (maildir.c) ---- */

/*
 * A unique base name "TIME.MusecPpidQn.HOST" (Dovecot's form; Qn counts
 * names made by this process). '/' and ':' in host become \057 and \072.
 */
int maildir_unique(char *out, size_t size, const char *host);

/*
 * Map a folder name (UTF-8, hierarchy separator sep: '.' or '/') to its
 * directory: "INBOX" (any case) or "" is root itself; "A.B" (sep '.') or
 * "A/B" (sep '/') is root "/.A.B" with each level in IMAP modified UTF-7
 * (RFC 3501 5.1.3). Refuses (ERR_PERM) names that are empty at a level,
 * contain '/' when sep is '.', start a level with '.', hold control bytes
 * or invalid UTF-8, or are over FOLDER_MAX_NAME / FOLDER_MAX_DEPTH.
 */
int maildir_folder_path(const char *root, const char *folder, char sep,
    char *out, size_t outsz, struct err *e);

/* 1 if path is a Maildir (has cur/ new/ tmp/), 0 if not. */
int maildir_exists(const char *path);
/*
 * Create a Maildir at path (mode 0700): path, tmp/, new/, cur/, and for a
 * folder (is_folder) the empty "maildirfolder" file; the parent directory
 * is fsync'd. Existing parts are fine (concurrent creators race safely).
 */
int maildir_make(const char *path, int is_folder, struct err *e);
/*
 * Create the folder name (IMAP name, separator sep) at path under root
 * and, when subscribe, add it to root/subscriptions before the Maildir
 * is complete: a creation that failed half-way is redone whole by the
 * next delivery, subscription included (a subscription failure is
 * ERR_TEMP).
 */
int maildir_make_folder(const char *root, const char *path,
    const char *name, char sep, int subscribe, struct err *e);
/* fsync a directory (EINVAL: the file system cannot; that is fine). */
int maildir_fsync_dir(const char *path, struct err *e);
/*
 * Add folder (the IMAP name, UTF-8, separator sep) to root/subscriptions
 * in Dovecot's format, unless present. Written to a temp file and renamed
 * under a lock, so concurrent deliveries never lose an entry.
 */
int maildir_subscribe(const char *root, const char *folder, char sep,
    struct err *e);

/* RFC 3501 5.1.3 modified UTF-7. encode: -1 on invalid UTF-8. */
int mutf7_encode(struct buf *out, const char *utf8, size_t len);
int mutf7_decode(struct buf *out, const char *p, size_t len);

/*
 * Dovecot keywords: the letter ('a'..'z') that root-of-folder's
 * dovecot-keywords file maps to keyword, or 0 when none (read only).
 */
int maildir_keyword_letter(const char *folder_path, const char *keyword);

/* ---- Maildir++ quota (quota.c) ---- */

/*
 * Check that size bytes (one message) fit the quota in root/maildirsize
 * (no file: no quota). Over quota: ERR_TEMP "4.2.2" when tempfail, else
 * ERR_PERM "5.2.2". A corrupt or unreadable maildirsize is recalculated
 * from the folders as the Maildir++ spec says.
 */
int quota_check(const char *root, off_t size, int tempfail, struct err *e);
/* Record a delivered message in maildirsize (if present). Best effort:
 * a failure only makes the next check recalculate. */
void quota_add(const char *root, off_t size, int count);

/* ---- mbox (mbox.c) ---- */

/*
 * Append the message (spool_fd, size bytes, stored form) to the mbox file
 * path: "From sender date" line, ">From " quoting of body lines (as
 * procmail does), a blank line after. Locked with a dotlock (path.lock)
 * and fcntl; created 0600 if missing. On failure the file is truncated
 * back to its old size: no half-written message.
 */
int mbox_deliver(const char *path, int spool_fd, off_t size,
    const char *sender, time_t when, struct err *e);
/* For tests: seconds to wait for the mbox locks (default and for n <= 0:
 * MBOX_LOCK_TIMEOUT). Process-wide; not for use by the LDA. */
void mbox_set_lock_timeout(int seconds);

/* ---- executor (exec.c) ---- */

struct deliver_ctx {
	const char *root;	/* INBOX Maildir, absolute */
	char sep;		/* hierarchy separator of folder names */
	int autocreate;		/* create missing folders (lda_mailbox_autocreate) */
	int autosubscribe;	/* subscribe what we create (not for Sieve :create) */
	int quota_tempfail;
	const char *host;	/* for unique names */
	const char *sender;	/* envelope sender, for mbox "From " */

	struct msg *msg;	/* size/vsize known after spooling */
	int spool_fd;		/* the stored message, root/tmp/<unique> */
	char unique[256];
	char spool_path[PATH_MAX];
	int spool_linked;	/* the spool file itself became a delivery */
	/* Set before the first rename into place: from then on a deadline
	 * must not abort the process (the message may be visible). */
	volatile sig_atomic_t committing;
};

/* Create the root Maildir if needed and open root/tmp/<unique> for the
 * message. */
int deliver_spool_open(struct deliver_ctx *d, struct err *e);
/* fsync the spool (after msg_spool). */
int deliver_spool_sync(struct deliver_ctx *d, struct err *e);
/* Close and unlink the spool file unless it became a delivery. */
void deliver_spool_close(struct deliver_ctx *d);

/*
 * Carry out l: every keep/fileinto/mbox target (plus the implicit keep)
 * is stored, all or nothing: staged into each folder's tmp/, then renamed
 * into place; if any step fails temporarily, what was placed is removed
 * and -1 is returned (ERR_TEMP: exit 75, Postfix retries). A fileinto
 * that fails permanently (bad name, missing folder without create) is
 * marked ACT_FAILED and the message goes to INBOX instead, as Pigeonhole
 * does. Actions this layer cannot carry out are marked ACT_UNSUPPORTED,
 * logged, and fall back to INBOX likewise. Each action's status, err and
 * result (stored path) are set. ereject returns -1 with ERR_PERM.
 */
int deliver_run(struct deliver_ctx *d, struct action_list *l, struct err *e);

#endif
