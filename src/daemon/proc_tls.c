/* proc_tls: a child's TLS context from the certificate main sent (kept
 * apart from proc.c so that main, which shares the role names, links no
 * OpenSSL). */
#include "proc.h"

#include <string.h>

#include "lib/log.h"
#include "tls/tls.h"

void proc_tls_load(SSL_CTX **ctx, const char *off_without)
{
	const char *why = NULL;
	SSL_CTX *next;

	if (proc_tls_cert.len == 0)
		return;
	next = tls_server_ctx_new(&proc_cfg, &proc_tls_cert, &proc_tls_key, &why);
	explicit_bzero(proc_tls_key.ptr, proc_tls_key.cap);
	buf_reset(&proc_tls_key);
	if (next == NULL) {
		log_error("event=tls status=failed reason=\"%s\" action=\"%s\"", why,
			  *ctx ? "keeping the previous certificate" : off_without);
		return;
	}
	SSL_CTX_free(*ctx);	/* open sessions hold their own reference */
	*ctx = next;
}
