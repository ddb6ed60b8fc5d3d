/* tls: OpenSSL server contexts built from the configuration.
 * The main process checks the files; the children build contexts from the
 * PEM text main hands them, again after every reload (certificate renewal
 * without dropping sessions: open sessions keep the old context). */
#ifndef MK_TLS_H
#define MK_TLS_H

#include <openssl/ssl.h>

#include "daemon/conf/config.h"
#include "lib/buf.h"

/* Refuse unreadable, mismatched, or group/world-readable key files. */
int tls_check_files(const struct config *cfg, const char **error_r);
SSL_CTX *tls_server_ctx_new(const struct config *cfg, const struct buf *cert,
			    const struct buf *key, const char **error_r);
/* "TLSv1.3 cipher=TLS_AES_256_GCM_SHA384" style description for logs. */
void tls_describe(SSL *ssl, char *out, size_t size);

#endif
