/* outbound_dkim: DKIM signatures (RFC 6376) for mail our users submitted,
 * made by the queue when it sends: d= is the From: domain when it is one
 * of ours with keys in mailkeep.db (one signature per selector, private
 * keys in their files under DATA/dkim). t= is the message's arrival time,
 * so every attempt prepends the same fields (RSA PKCS#1 v1.5 and Ed25519
 * signatures are deterministic): nothing is stored. */
#ifndef MK_OUTBOUND_DKIM_H
#define MK_OUTBOUND_DKIM_H

#include <time.h>

#include "lib/buf.h"

/* The header block read to find From:, at most. */
#define OUTBOUND_DKIM_HEADER_MAX (256 * 1024)

/* Append the DKIM-Signature fields for the message in fd (read from the
 * descriptor's offset, where the message starts, and left there) to out.
 * 0 also when there is nothing to sign with (*domain_r "" then); -1 with
 * *error_r: sent unsigned. */
int outbound_dkim_sign(int fd, time_t created, struct buf *out,
		       char domain_r[256], const char **error_r);
void outbound_dkim_shutdown(void);

#endif
