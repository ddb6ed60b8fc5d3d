/* curl_dl: libcurl loaded at run time (dlopen) on first use. Linked, it
 * would map some 30 libraries (GnuTLS, Kerberos, LDAP, SSH ...) into every
 * mailkeep process, daemon children included; only the processes that
 * fetch over HTTPS (the MTA-STS policy fetch of the queue, `dns check`)
 * load it. Call through the table: curl_dl.easy_init(), ... */
#ifndef MK_CURL_DL_H
#define MK_CURL_DL_H

#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

struct curl_dl {
	void *lib;
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *h);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_setopt)(CURLM *m, CURLMoption option, ...);
	CURLMcode (*multi_add_handle)(CURLM *m, CURL *h);
	CURLMcode (*multi_remove_handle)(CURLM *m, CURL *h);
	CURLMcode (*multi_socket_action)(CURLM *m, curl_socket_t s, int ev_bitmask,
					 int *running);
	CURLMsg *(*multi_info_read)(CURLM *m, int *msgs_in_queue);
	CURLMcode (*multi_assign)(CURLM *m, curl_socket_t s, void *sockp);
	CURLMcode (*multi_cleanup)(CURLM *m);
};

/* The functions, once curl_dl_load() succeeded. */
extern struct curl_dl curl_dl;

/* Load libcurl.so.4 and curl_global_init() it (once per process): 0, or
 * -1 with a static reason when libcurl (Debian libcurl4) is missing. */
int curl_dl_load(const char **error_r);

#endif
