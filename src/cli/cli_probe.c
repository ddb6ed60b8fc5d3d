/* cli_probe: the network probes of `dns check` and `quickstart`:
 *   - the public addresses of the network interfaces (getifaddrs);
 *   - the certificate a TLS listener serves: SMTP STARTTLS (RFC 3207),
 *     IMAP STARTTLS (RFC 3501 §6.2.1) or implicit TLS (RFC 8314), read
 *     with bounded replies and a time limit on every step;
 *   - the MTA-STS policy file over HTTPS (RFC 8461 §3.3) with libcurl.
 * The certificate is judged by dnscheck_tls(), not here. */
#include "cli/cli_dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/curl_dl.h"
#include "lib/netaddr.h"
#include "lib/xalloc.h"

/* ---- addresses ---- */

void cli_probe_addresses(struct userdb_strv *out)
{
	struct ifaddrs *ifs = NULL;
	char text[INET6_ADDRSTRLEN];

	memset(out, 0, sizeof(*out));
	if (getifaddrs(&ifs) < 0)
		return;
	for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
		bool dup = false;
		if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET &&
					    i->ifa_addr->sa_family != AF_INET6))
			continue;
		netaddr_ip_string(i->ifa_addr, text, sizeof(text));
		if (!dnsrec_addr_is_public(text))
			continue;
		for (size_t k = 0; k < out->n; k++)
			dup |= strcmp(out->v[k], text) == 0;
		if (dup || out->n == DNSREC_MAX_ADDRS)
			continue;
		out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
		out->v[out->n++] = xstrdup(text);
	}
	freeifaddrs(ifs);
}

/* ---- plain-text part of the dialogue ---- */

/* Listen spec -> where to connect: the wildcard addresses mean this
 * host, reached over loopback. */
static int target(const char *spec, struct netaddr *a, struct buf *text)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned port;

	if (netaddr_parse_hostport(spec, a) < 0)
		return -1;
	port = netaddr_port((struct sockaddr *)&a->ss);
	if (a->ss.ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&a->ss;
		if (s->sin_addr.s_addr == htonl(INADDR_ANY))
			s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a->ss;
		if (IN6_IS_ADDR_UNSPECIFIED(&s->sin6_addr))
			s->sin6_addr = in6addr_loopback;
	}
	netaddr_ip_string((struct sockaddr *)&a->ss, ip, sizeof(ip));
	buf_printf(text, a->ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
		   port);
	return 0;
}

static int wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	while ((r = poll(&p, 1, CLI_PROBE_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

/* A blocking socket connected within the time limit, with time limits
 * on every later read and write. */
static int connect_to(const struct netaddr *a, const char **error_r)
{
	struct timeval tv = { CLI_PROBE_TIMEOUT_MS / 1000, 0 };
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
			SOCK_CLOEXEC, 0), err = 0;
	socklen_t el = sizeof(err);

	if (fd < 0 || (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 &&
		       (errno != EINPROGRESS || wait_fd(fd, POLLOUT) < 0 ||
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 ||
			(errno = err) != 0))) {
		*error_r = strerror(errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Is the last complete line of r the end of a reply? For SMTP a line
 * "DDD " (RFC 5321 §4.2.1); for IMAP a line starting with end_tag. */
static bool reply_done(const struct buf *r, bool smtp, const char *end_tag)
{
	const char *line;
	size_t n;

	if (r->len < 2 || r->ptr[r->len - 1] != '\n')
		return false;
	n = r->len - 1;
	while (n > 0 && r->ptr[n - 1] != '\n')
		n--;
	line = r->ptr + n;
	if (smtp)
		return r->len - n >= 4 && line[3] != '-';
	return strncmp(line, end_tag, strlen(end_tag)) == 0;
}

/* Read one whole reply (at most CLI_PROBE_REPLY_MAX bytes). */
static int read_reply(int fd, struct buf *r, bool smtp, const char *end_tag,
		      const char **error_r)
{
	char chunk[512];

	buf_reset(r);
	while (!reply_done(r, smtp, end_tag)) {
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = n == 0 ? "connection closed" :
				   errno == EAGAIN ? "no reply in time" : strerror(errno);
			return -1;
		}
		buf_append(r, chunk, (size_t)n);
		if (r->len > CLI_PROBE_REPLY_MAX) {
			*error_r = "reply too long";
			return -1;
		}
	}
	return 0;
}

static int send_line(int fd, const char *line, const char **error_r)
{
	size_t n = strlen(line);

	if (send(fd, line, n, MSG_NOSIGNAL) != (ssize_t)n) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

/* Send cmd (unless NULL), read the reply: 0 if it starts with ok. */
static int step(int fd, const char *cmd, bool smtp, const char *end_tag,
		const char *ok, const char *refused, const char **error_r)
{
	struct buf r = BUF_INIT;
	int rc = -1;

	if ((cmd == NULL || send_line(fd, cmd, error_r) == 0) &&
	    read_reply(fd, &r, smtp, end_tag, error_r) == 0) {
		const char *last = r.ptr + r.len - 1;
		while (last > r.ptr && last[-1] != '\n')
			last--;
		if (strncmp(smtp ? r.ptr : last, ok, strlen(ok)) == 0)
			rc = 0;
		else
			*error_r = refused;
	}
	buf_free(&r);
	return rc;
}

/* Greeting, EHLO, STARTTLS: 0 when the server said 220 go ahead. */
static int smtp_starttls(int fd, const char *hostname, const char **error_r)
{
	struct buf ehlo = BUF_INIT;
	int rc;

	buf_printf(&ehlo, "EHLO %s\r\n", hostname);
	rc = step(fd, NULL, true, NULL, "220", "no 220 greeting", error_r) == 0 &&
	     step(fd, ehlo.ptr, true, NULL, "250", "EHLO refused", error_r) == 0 &&
	     step(fd, "STARTTLS\r\n", true, NULL, "220", "STARTTLS refused",
		  error_r) == 0 ? 0 : -1;
	buf_free(&ehlo);
	return rc;
}

/* Greeting, then "a1 STARTTLS" answered "a1 OK". */
static int imap_starttls(int fd, const char **error_r)
{
	return step(fd, NULL, false, "* ", "* OK", "no * OK greeting",
		    error_r) == 0 &&
	       step(fd, "a1 STARTTLS\r\n", false, "a1 ", "a1 OK",
		    "STARTTLS refused", error_r) == 0 ? 0 : -1;
}

/* ---- TLS ---- */

/* Handshake on fd; the chain is verified against the default roots
 * ($SSL_CERT_FILE / $SSL_CERT_DIR honoured) but never refused here. */
static int handshake(int fd, const char *hostname,
		     struct dnscheck_tls_probe *p)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	int rc = -1;

	if (ctx == NULL)
		return -1;
	SSL_CTX_set_default_verify_paths(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	ssl = SSL_new(ctx);
	if (ssl != NULL && SSL_set_fd(ssl, fd) == 1 &&
	    SSL_set_tlsext_host_name(ssl, hostname) == 1 &&
	    SSL_connect(ssl) == 1) {
		p->leaf = SSL_get1_peer_certificate(ssl);
		p->verify = SSL_get_verify_result(ssl);
		rc = 0;
		SSL_shutdown(ssl);
	} else {
		p->error = "TLS handshake failed";
	}
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return rc;
}

void cli_probe_tls(const char *service, const char *listen_spec,
		   const char *hostname, struct dnscheck_tls_probe *p,
		   struct buf *addr_text)
{
	struct netaddr a;
	int fd = -1;

	memset(p, 0, sizeof(*p));
	p->service = service;
	if (target(listen_spec, &a, addr_text) < 0) {
		buf_appends(addr_text, listen_spec);
		p->error = "not ADDRESS:PORT";
	} else if ((fd = connect_to(&a, &p->error)) < 0) {
		;
	} else if (strcmp(service, "smtp") == 0 || strcmp(service, "submission") == 0) {
		if (smtp_starttls(fd, hostname, &p->error) == 0)
			handshake(fd, hostname, p);
	} else if (strcmp(service, "imap") == 0) {
		if (imap_starttls(fd, &p->error) == 0)
			handshake(fd, hostname, p);
	} else {
		handshake(fd, hostname, p);
	}
	p->address = buf_cstr(addr_text);
	if (fd >= 0)
		close(fd);
}

/* ---- HTTPS ---- */

static size_t body_write(char *data, size_t size, size_t n, void *arg)
{
	struct buf *body = arg;

	if (body->len + size * n > DNSCHECK_STS_POLICY_MAX)
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	buf_append(body, data, size * n);
	return size * n;
}

static void https_options(CURL *h, const char *url, struct curl_slist *res,
			  struct buf *body, char *errbuf)
{
	const char *ca = getenv("SSL_CERT_FILE");

	curl_dl.easy_setopt(h, CURLOPT_URL, url);
	curl_dl.easy_setopt(h, CURLOPT_RESOLVE, res);
	curl_dl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_dl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);	/* RFC 8461 §3.3 */
	curl_dl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_dl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CLI_PROBE_TIMEOUT_MS);
	curl_dl.easy_setopt(h, CURLOPT_TIMEOUT_MS, 2L * CLI_PROBE_TIMEOUT_MS);
	curl_dl.easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_dl.easy_setopt(h, CURLOPT_WRITEDATA, body);
	curl_dl.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_dl.easy_setopt(h, CURLOPT_USERAGENT, "mailkeep/" MAILKEEP_VERSION);
	if (ca != NULL && *ca != '\0')
		curl_dl.easy_setopt(h, CURLOPT_CAINFO, ca);
}

int cli_probe_https(const char *host, const char *path, const char *ip,
		    struct buf *body, struct buf *error)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct buf url = BUF_INIT, pin = BUF_INIT;
	struct curl_slist *res;
	CURL *h;
	CURLcode cc;
	long status = 0;
	int rc = -1;
	const char *why = NULL;

	if (curl_dl_load(&why) < 0) {
		buf_appends(error, why);
		return -1;
	}
	buf_printf(&url, "https://%s%s", host, path);
	buf_printf(&pin, strchr(ip, ':') ? "%s:443:[%s]" : "%s:443:%s", host, ip);
	res = curl_dl.slist_append(NULL, pin.ptr);
	h = curl_dl.easy_init();
	if (h == NULL || res == NULL) {
		buf_appends(error, "cannot set up libcurl");
	} else {
		https_options(h, url.ptr, res, body, errbuf);
		cc = curl_dl.easy_perform(h);
		curl_dl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (cc != CURLE_OK)
			buf_printf(error, "%s: %s", url.ptr,
				   *errbuf ? errbuf : curl_dl.easy_strerror(cc));
		else if (status != 200)
			buf_printf(error, "%s: HTTP status %ld", url.ptr, status);
		else
			rc = 0;
	}
	curl_dl.easy_cleanup(h);
	curl_dl.slist_free_all(res);
	buf_free(&url);
	buf_free(&pin);
	return rc;
}
