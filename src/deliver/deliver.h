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
#include "../lib/program.h"
#include "../msg/msg.h"
#include "../rules/action.h"

struct store;

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
/* Write p to the new file tmp (O_EXCL), fsync, rename over path; on
 * failure tmp is removed. The caller fsyncs the directory if needed. */
int maildir_write_file(const char *tmp, const char *path, const void *p,
    size_t len, struct err *e);
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
/* "From SENDER  Sun Nov 23 05:15:12 2026\n" (C locale, local time) for
 * sender (NULL, "" and "<>" are MAILER-DAEMON; blanks and control bytes
 * become '_'), appended to b. */
void mbox_from_line(struct buf *b, const char *sender, time_t when);
/* An fcntl write lock on fd, F_SETLK retried until deadline (ERR_TEMP
 * then). 0 or -1. */
int mbox_fcntl_lock(int fd, const char *path, time_t deadline,
    struct err *e);
/* For tests: seconds to wait for the mbox locks (default and for n <= 0:
 * MBOX_LOCK_TIMEOUT). Process-wide; not for use by the LDA. */
void mbox_set_lock_timeout(int seconds);

/* ---- procmail folders and lockfiles (pmfolder.c) ---- */

struct pm_folder_req;		/* rules/procmailrc/procmailrc.h */

#define PMFOLDER_MAX_TRIES	10000	/* unique-name attempts (MH, msg.X) */
#define PMFOLDER_MSGPREFIX	"msg."	/* procmail's $MSGPREFIX default */
#define PMLOCK_SLEEP		1	/* seconds between lockfile attempts
					 * (procmail: LOCKSLEEP 8; polling
					 * faster changes no outcome) */
#define PMLOCK_MBOX_WAIT	MBOX_LOCK_TIMEOUT /* an mbox's own dotlock */

struct pmfolder_ctx {
	const char *host;	/* Maildir unique names; NULL: gethostname */
	/* The user's INBOX Maildir: a "dir/" delivery into root/.NAME/ is a
	 * Maildir++ folder, made with maildirfolder and subscribed (DESIGN.md
	 * "Contracts with Dovecot"). NULL: no such folders. */
	const char *root;
	char sep;		/* hierarchy separator for subscriptions */
	long locktimeout;	/* stale age of an mbox's dotlock; 0: never */
};

/*
 * Store the message of r into r->folders as procmail 3.22 does
 * (procmail(1) "folder types", checked with Debian's procmail):
 *  - "/dev/null": nothing is written;
 *  - "dir/" (any number of trailing '/'): a Maildir, created with tmp/ new/
 *    cur/ when missing; the file is new/<Dovecot unique>,S=,W= written
 *    through tmp/ with fsync; a leading "From " line is dropped, nothing
 *    else changes;
 *  - "dir/.": MH, the next free number, the From_ line kept;
 *  - an existing directory: PMFOLDER_MSGPREFIX + 4 unique characters;
 *  - anything else: an mbox file, appended under a dotlock (unless
 *    r->locked: the recipe's lockfile already covers it) and an fcntl
 *    lock, "From " at line starts quoted as ">From " (not the first
 *    line), and cut back to its old size on any failure.
 * MH, directory and mbox copies get a trailing "\n" unless the text ends
 * in an empty line already or r->raw (raw also skips the quoting).
 * MH/directory files are written under a temporary name and linked into
 * place, so that no reader sees half a message. Several names: stored in
 * the first, hard-linked into the rest (same bytes; a missing directory is
 * created; names that cannot take a link are skipped and logged, as
 * procmail's "Skipped"); after an mbox or /dev/null the rest are skipped.
 * Relative names are under r->maildir. lastfolder gets procmail's
 * $LASTFOLDER: the names as given, with "new/NAME", the MH number or
 * the msg.X name appended, separated by spaces. 0, or -1 with e
 * (system errors ERR_TEMP).
 */
int pmfolder_deliver(const struct pmfolder_ctx *c,
    const struct pm_folder_req *r, struct buf *lastfolder, struct err *e);

/*
 * procmail/lockfile(1) lockfiles: create path with O_EXCL (mode 0444,
 * empty); while it exists, wait PMLOCK_SLEEP and retry; one whose mtime is
 * more than locktimeout seconds old is removed (locktimeout 0: never).
 * wait_max > 0 bounds the wait (ERR_TEMP after it); 0 waits until
 * the LDA's own deadline. *dev_out and *ino_out identify our lock
 * for pmlock_drop(). 0, or -1 with e.
 */
int pmlock_take(const char *path, long locktimeout, long wait_max,
    dev_t *dev_out, ino_t *ino_out, struct err *e);
/* Remove path if it is still the lock we made. */
void pmlock_drop(const char *path, dev_t dev, ino_t ino);

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

	/* Outbound mail, programs and state (Sieve; all optional). */
	const char *sendmail_path;	/* NULL: DELIVER_SENDMAIL */
	const char *postmaster_address;	/* NULL: postmaster@<recipient domain> */
	const char *recipient;		/* final envelope recipient */
	const char *orig_recipient;	/* ORIGINAL_RECIPIENT; NULL: recipient */
	struct store *store;		/* state store; NULL: none */
	const char *pipe_bin_dir;	/* vnd.dovecot.pipe/execute programs */
	const char *filter_bin_dir;	/* vnd.dovecot.filter programs */
	const char *const *prog_env;	/* programs' environment; NULL: a
					 * minimal one (PATH, SENDER,
					 * RECIPIENT) */
	unsigned prog_timeout;		/* seconds per program; 0: default */
	/* sluice test: evaluate everything, write nothing, send nothing. */
	int dry_run;
};

/* Create the root Maildir if needed and open root/tmp/<unique> for the
 * message. */
int deliver_spool_open(struct deliver_ctx *d, struct err *e);
/* Append the spool's bytes from off on to fd (named path, for errors),
 * in MSG_IO_CHUNK blocks: bounded memory whatever the size. */
int deliver_spool_copy(struct deliver_ctx *d, off_t off, int fd,
    const char *path, struct err *e);
/* fsync the spool (after msg_spool). */
int deliver_spool_sync(struct deliver_ctx *d, struct err *e);
/* Close and unlink the spool file unless it became a delivery. */
void deliver_spool_close(struct deliver_ctx *d);

#define DELIVER_SENDMAIL		"/usr/sbin/sendmail"
#define DELIVER_SENDMAIL_TIMEOUT	30	/* seconds, Dovecot's default */
#define DELIVER_PROGRAM_TIMEOUT		60	/* seconds per pipe/filter */
#define DELIVER_FILTER_MAX		(256L * 1024 * 1024) /* filter output */
#define DELIVER_REDIRECT_DUP_TTL	(12 * 3600) /* Pigeonhole's */
#define DELIVER_NOTIFY_MAX_RCPT		8	/* Pigeonhole's mailto limit */

/*
 * Carry out l, in Pigeonhole's order:
 *
 *  1. Message edits, in list order: addheader/deleteheader (edit.c) and
 *     filter (program output replaces the message). Each makes a new spool
 *     file with exact S=/W= that every later step sees. A refused edit
 *     (protected header, bad name) or failed filter is ACT_FAILED and
 *     leaves the message as it was.
 *  2. Storing: every keep/fileinto/mbox target (plus the implicit keep)
 * is stored, all or nothing: staged into each folder's tmp/, then renamed
 * into place; if any step fails temporarily, what was placed is removed
 * and -1 is returned (ERR_TEMP: exit 75, Postfix retries). A fileinto
 * that fails permanently (bad name, missing folder without create) is
 * marked ACT_FAILED and the message goes to INBOX instead, as Pigeonhole
 * does. Actions this layer cannot carry out are marked ACT_UNSUPPORTED,
 * logged, and fall back to INBOX likewise. Each action's status, err and
 * result (stored path) are set. ereject returns -1 with ERR_PERM.
 *  3. Outbound, in list order, after the store is committed: redirect,
 *     reject (MDN), vacation, notify (mailto), pipe (sendmail.c and
 *     program.c; see sendmail.c for exactly what is sent).
 *  4. Store marks (duplicate, vacation) once everything above is done.
 *
 * Failure policy of step 3 (never lose mail, never duplicate it):
 *  - A redirect, reject or pipe that fails when no local copy was stored
 *    falls back to INBOX (Pigeonhole: implicit keep on failure), unless
 *    the failure is temporary (sendmail exit 75 or timeout) and nothing
 *    at all was stored or sent yet: then -1 with ERR_TEMP (exit 75) and
 *    Postfix retries the whole delivery, which cannot duplicate anything.
 *  - vacation/notify failures are logged only (they do not carry the
 *    message). Vacation is sent only when the store can both say "not
 *    replied yet" and remember the reply: with no store, or the store
 *    down, the reply is skipped and logged (no reply storms).
 * dry_run: targets are resolved (nothing created), messages composed but
 * not sent, programs not run; each action's result says what would be
 * done.
 */
int deliver_run(struct deliver_ctx *d, struct action_list *l, struct err *e);

/* ---- header edits (edit.c) ---- */

/*
 * Apply the addheader/deleteheader actions among v[0..n) (others are
 * ignored) to the spool, in order: one new spool file in root/tmp with
 * the edited header and the body copied, swapped in with
 * deliver_spool_replace(). Sets each edit's status/err. -1 (ERR_TEMP)
 * only on I/O errors; the message is then unchanged.
 */
int edit_apply(struct deliver_ctx *d, struct action *v, size_t n,
    struct err *e);
/*
 * Append "Name: value\n" to out: value unfolded of any CR/LF, RFC 2047
 * encoded (UTF-8, Q) when it holds non-ASCII or control bytes, and
 * folded at whitespace to keep lines within 78 characters where possible.
 */
void edit_field(struct buf *out, const char *name, const char *value);
/* 1 if name is a valid field name (RFC 5322 3.6.8 ftext, 1..MSG_MAX_NAME). */
int edit_name_ok(const char *name);
/* 1 if RFC 5293 section 6 / Pigeonhole's sieve_editheader_protected
 * forbid editing name (Received, Auto-Submitted). */
int edit_protected(const char *name);
/*
 * Replace the delivery's spool by fd (open, at path, in root/tmp, base
 * name unique) holding the new stored message: the old file is unlinked,
 * sizes are recomputed from the file, the header re-indexed.
 */
int deliver_spool_replace(struct deliver_ctx *d, int fd, const char *path,
    const char *unique, struct err *e);
/* Read the stored header block [0, body_off) (at most max bytes) into out.
 * 0, or -1: too big (ERR_PERM) or I/O error (ERR_TEMP). */
int deliver_read_head(struct deliver_ctx *d, struct buf *out, size_t max,
    struct err *e);

/* ---- outbound mail (sendmail.c) ---- */

/*
 * Each sets a->status/err/result. 0: done, skipped on purpose, or failed
 * permanently (a->status says); -1 with e: ERR_TEMP when sendmail said
 * "try later" (exit 75) or timed out, ERR_PERM otherwise (the action
 * failed and the caller applies the failure policy above).
 */
int sendmail_redirect(struct deliver_ctx *d, struct action *a, struct err *e);
int sendmail_reject(struct deliver_ctx *d, struct action *a, struct err *e);
int sendmail_vacation(struct deliver_ctx *d, struct action *a, struct err *e);
int sendmail_notify(struct deliver_ctx *d, struct action *a, struct err *e);
/*
 * Submit head + the spool from off (if off >= 0) + tail to rcpts through
 * sendmail: argv "sendmail -i -f FROM -- RCPT...", FROM "<>" for the null
 * sender. Addresses with blanks, control bytes, ',', '<' or '>' are refused
 * (they would be re-parsed by sendmail).
 */
int sendmail_send(struct deliver_ctx *d, const char *env_from,
    const char *const *rcpts, const char *head, size_t head_len, off_t off,
    const char *tail, size_t tail_len, struct err *e);
/* The programs' environment: d->prog_env, else PATH, SENDER and
 * RECIPIENT in env (>= 4 slots) with s1/s2 (size bytes each) as storage. */
const char *const *deliver_prog_env(struct deliver_ctx *d, const char **env,
    char *s1, char *s2, size_t size);
/* 1 if addr is acceptable as an envelope address for sendmail. */
int sendmail_addr_ok(const char *addr);

#endif
