/* proxy: the PROXY protocol header (HAProxy's "The PROXY protocol",
 * versions 1 and 2) that a trusted forwarder sends before the client's
 * first byte, naming the real client address. Pure: no I/O.
 *
 * proxy_parse is called with everything read so far (a prefix of the
 * stream); it tells how many more bytes certainly belong to the header, so
 * a reader can take exactly the header off the socket and no more (the
 * bytes after it belong to SMTP, IMAP or a TLS handshake). */
#ifndef MK_PROXY_H
#define MK_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define PROXY_V1_MAX 107	/* spec 2.1: the longest v1 line, with CRLF */
#define PROXY_V2_HEAD 16	/* spec 2.2: signature, ver/cmd, fam, len */
#define PROXY_MAX_HEADER 1536	/* longest v2 header accepted (with TLVs) */
#define PROXY_MIN_HEADER 15	/* "PROXY UNKNOWN\r\n"; v2 is at least 16 */

struct proxy_header {
	int version;		/* 1 or 2 */
	bool local;		/* no address given (v1 UNKNOWN, v2 LOCAL,
				 * AF_UNSPEC, AF_UNIX): keep the connection's */
	struct sockaddr_storage src, dst;	/* when !local */
	socklen_t src_len, dst_len;
};

/* Parse the start of a stream. Returns the header's length (> 0) when it
 * is complete, 0 when more is needed (*need_r: bytes still certainly part
 * of it, >= 1), -1 when it is not a valid header (*error_r says why). */
int proxy_parse(const void *data, size_t len, struct proxy_header *h,
		size_t *need_r, const char **error_r);

#endif
