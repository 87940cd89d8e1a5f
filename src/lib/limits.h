/*
 * limits.h - every input limit of sluice, in one place.
 *
 * Each limit is checked before the allocation it guards. Exceeding one never
 * loses mail: the message is still delivered byte for byte; only the part
 * beyond the limit is not indexed (and the msg flags say so).
 * tests/unit/test-msg.c has a row for each.
 */
#ifndef SLUICE_LIMITS_H
#define SLUICE_LIMITS_H

/* Message model (src/msg) */
#define MSG_MAX_HEADER_BYTES	(1024 * 1024)	/* header block kept and indexed */
#define MSG_MAX_HEADERS		10000		/* header fields indexed */
#define MSG_MAX_NAME		256		/* bytes in a field name */
#define MSG_IO_CHUNK		(64 * 1024)	/* read/write block size */
#define MSG_MAX_FROM_LINE	4096		/* bytes of a leading "From " line kept */

/* RFC 2047 / RFC 2231 / charset decoding */
#define MSG_MAX_DECODED		(256 * 1024)	/* output of one decoded header value */
#define MSG_MAX_PARAMS		64		/* parameters of one MIME header */
#define MSG_MAX_PARAM_SECTIONS	64		/* RFC 2231 continuations of one */
#define MSG_MAX_PARAM_RAW	(MSG_MAX_PARAMS * 4) /* name*N pieces kept before joining */
#define MSG_MAX_CHARSET_NAME	64		/* bytes of a charset name */

/* Addresses (RFC 5322 3.4) */
#define ADDR_MAX_ADDRS		1000		/* addresses in one list */
#define ADDR_MAX_DEPTH		32		/* nesting of comments */

/* MIME tree */
#define MIME_MAX_DEPTH		64		/* nesting of multiparts */
#define MIME_MAX_PARTS		5000		/* parts in one message */
#define MIME_MAX_BOUNDARY	200		/* RFC 2046 says 70; be lenient */
#define MIME_MAX_DECODED	(64 * 1024 * 1024) /* decoded bytes of one part */

/* Delivery */
#define FOLDER_MAX_NAME		255		/* bytes of a folder name on disk */
#define FOLDER_MAX_DEPTH	32		/* hierarchy levels in a folder name */
#define ACTION_MAX		256		/* actions in one list */
#define MBOX_LOCK_TIMEOUT	60		/* seconds to wait for an mbox lock */
#define DOTLOCK_STALE		300		/* seconds after which a dotlock is stale */
#define QUOTA_MAX_LINES		5000		/* maildirsize lines before recalculation */
#define QUOTA_MAX_BYTES		(1024 * 1024)	/* maildirsize read; the spec rewrites at 5120 */
#define QUOTA_RECALC_AGE	(15 * 60)	/* over quota from an older file: recalculate */
#define SUBS_MAX_BYTES		(16 * 1024 * 1024) /* subscriptions file we rewrite */
#define SUBS_LOCK_TIMEOUT	120		/* Dovecot's subscription dotlock: give up */
#define SUBS_LOCK_STALE		30		/* ... and stale after (subscription-file.c) */

/* LDA */
#define LDA_DEFAULT_TIMEOUT	300		/* seconds; Postfix's command_time_limit is 1000 */
#define CONF_MAX_LINE		4096		/* bytes in a sluice.conf line */

#endif
