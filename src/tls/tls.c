/* tls: server-side OpenSSL setup. */
#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/log.h"

static const char *ssl_error(void)
{
	static char msg[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "unknown OpenSSL error";
	ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	return msg;
}

static bool any_listener(const struct config *cfg)
{
	for (int s = 0; s < SVC_COUNT; s++)
		if (cfg->listen[s].n > 0)
			return true;
	return false;
}

int tls_check_files(const struct config *cfg, const char **error_r)
{
	static char why[512];
	struct stat st;
	SSL_CTX *ctx;

	if (!any_listener(cfg))
		return 0;
	if (stat(cfg->tls_key, &st) < 0) {
		snprintf(why, sizeof(why), "tls key %s: %s", cfg->tls_key,
			 strerror(errno));
		*error_r = why;
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(why, sizeof(why), "tls key %s is readable by group or "
			 "others: chmod 600 it", cfg->tls_key);
		*error_r = why;
		return -1;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(why, sizeof(why), "tls cert %s / key %s: %s",
			 cfg->tls_cert, cfg->tls_key, ssl_error());
		*error_r = why;
		SSL_CTX_free(ctx);
		return -1;
	}
	SSL_CTX_free(ctx);
	return 0;
}

static int load_chain(SSL_CTX *ctx, const struct buf *pem)
{
	BIO *bio = BIO_new_mem_buf(pem->ptr, (int)pem->len);
	X509 *x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
	int ok = 0;

	if (x != NULL && SSL_CTX_use_certificate(ctx, x) == 1) {
		X509 *ca;
		ok = 1;
		SSL_CTX_clear_chain_certs(ctx);
		while ((ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
			if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
				X509_free(ca);
				ok = 0;
				break;
			}
		}
		ERR_clear_error();	/* end of file is not an error */
	}
	X509_free(x);
	BIO_free(bio);
	return ok;
}

static int load_key(SSL_CTX *ctx, const struct buf *pem)
{
	BIO *bio = BIO_new_mem_buf(pem->ptr, (int)pem->len);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	int ok = k != NULL && SSL_CTX_use_PrivateKey(ctx, k) == 1;

	EVP_PKEY_free(k);
	BIO_free(bio);
	return ok;
}

SSL_CTX *tls_server_ctx_new(const struct config *cfg, const struct buf *cert,
			    const struct buf *key, const char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int minv = strcmp(cfg->tls_min_version, "TLSv1.3") == 0 ?
		   TLS1_3_VERSION : TLS1_2_VERSION;

	if (ctx == NULL) {
		*error_r = ssl_error();
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, minv);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (*cfg->tls_ciphers != '\0' &&
	    SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1) {
		*error_r = "no usable cipher in [tls] ciphers";
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (cert->len == 0 || key->len == 0 || !load_chain(ctx, cert) ||
	    !load_key(ctx, key) || SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = ssl_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void tls_describe(SSL *ssl, char *out, size_t size)
{
	snprintf(out, size, "version=%s cipher=%s", SSL_get_version(ssl),
		 SSL_get_cipher_name(ssl));
}
