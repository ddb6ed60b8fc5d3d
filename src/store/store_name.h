/* store_name: Maildir file and folder names, pure string logic (no I/O).
 *
 * Message file names follow the maildir(5) shape time.unique.host[:2,FLAGS]:
 *   keyed    <internaldate>.K<encoded delivery key>.<host>
 *   keyless  <sec>.M<usec>P<pid>Q<n>R<random>.<host>
 * A keyed name is a pure function of (internaldate, key, host), so a
 * redelivery after a crash finds the file, and the key can be recovered
 * from the name alone. Internal to src/store/. */
#ifndef MK_STORE_NAME_H
#define MK_STORE_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/buf.h"

/* Bytes of the host part (after escaping), so that time + key + host +
 * ":2,FLAGS" + keyword letters stay under NAME_MAX (255). */
#define STORE_NAME_HOST_MAX 60

struct store_name_info {
	size_t base_len;	/* bytes before ':' (the part that never changes) */
	int64_t time;		/* leading decimal seconds, -1 if absent */
	unsigned flags;		/* enum store_flag bits from ":2,FLAGS" */
	bool keyed;		/* unique part is K<encoded key> */
	size_t key_off;		/* the encoded key within the name */
	size_t key_len;
};

/* Append key in file-name-safe form ([A-Za-z0-9_-] kept, others =XX);
 * -1 if empty or longer than STORE_DELIVERY_KEY_MAX once encoded. */
int store_name_key_encode(struct buf *out, const char *key);
/* Decode enc[len] (as made by store_name_key_encode) into out; -1 if malformed. */
int store_name_key_decode(struct buf *out, const char *enc, size_t len);
/* Escape host for a file name ('/' -> \057, ':' -> \072, maildir(5)). */
void store_name_host(char *out, size_t size, const char *host);
/* Append the keyed file name; -1 with *error_r on a bad key or date. */
int store_name_keyed(struct buf *out, time_t internaldate, const char *key,
		     const char *host, const char **error_r);
/* Append a unique keyless file name; counter makes it unique per process. */
void store_name_unique(struct buf *out, const char *host, unsigned counter);
/* Split a directory entry name; -1 if it cannot be a message (".x", ""). */
int store_name_parse(const char *name, struct store_name_info *info_r);
/* Maildir info flags ("2,FRS" after the ':') as enum store_flag bits. */
unsigned store_name_flags_parse(const char *info);
/* Append the ":2,FLAGS" suffix for flags, letters in ASCII order. */
void store_name_flags_format(struct buf *out, unsigned flags);
/* Whether mailbox is a valid store mailbox name (INBOX or a Maildir++
 * folder name: no '/', no control bytes, no leading/trailing/double '.'). */
bool store_name_mailbox_valid(const char *mailbox);
/* Append mailbox with a first level "INBOX" in any case as "INBOX"
 * (RFC 3501 §5.1: INBOX is case-insensitive), the rest as is. */
void store_name_canonical(struct buf *out, const char *mailbox);
/* Whether name is below parent in the '.' hierarchy ("a.b" below "a"). */
bool store_name_is_below(const char *name, const char *parent);
/* Append a message file's location in its folder: "new/BASE", or
 * "cur/BASE:2,FLAGS" when cur. */
void store_name_location(struct buf *out, bool cur, const char *base,
			 unsigned flags);
/* Append the folder directory of mailbox under maildir; -1 if invalid. */
int store_name_folder_path(struct buf *out, const char *maildir,
			   const char *mailbox);

#endif
