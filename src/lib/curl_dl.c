/* curl_dl: dlopen("libcurl.so.4") and the table of the functions used. */
#include "lib/curl_dl.h"

#include <dlfcn.h>
#include <stddef.h>

struct curl_dl curl_dl;

/* One symbol into its slot of the table; -1 when missing. */
static int sym(void *lib, void *slot, const char *name)
{
	void *f = dlsym(lib, name);

	if (f == NULL)
		return -1;
	*(void **)slot = f;
	return 0;
}

static int load_all(void *l)
{
	return sym(l, &curl_dl.global_init, "curl_global_init") |
	       sym(l, &curl_dl.global_cleanup, "curl_global_cleanup") |
	       sym(l, &curl_dl.easy_init, "curl_easy_init") |
	       sym(l, &curl_dl.easy_setopt, "curl_easy_setopt") |
	       sym(l, &curl_dl.easy_perform, "curl_easy_perform") |
	       sym(l, &curl_dl.easy_getinfo, "curl_easy_getinfo") |
	       sym(l, &curl_dl.easy_cleanup, "curl_easy_cleanup") |
	       sym(l, &curl_dl.easy_strerror, "curl_easy_strerror") |
	       sym(l, &curl_dl.slist_append, "curl_slist_append") |
	       sym(l, &curl_dl.slist_free_all, "curl_slist_free_all") |
	       sym(l, &curl_dl.multi_init, "curl_multi_init") |
	       sym(l, &curl_dl.multi_setopt, "curl_multi_setopt") |
	       sym(l, &curl_dl.multi_add_handle, "curl_multi_add_handle") |
	       sym(l, &curl_dl.multi_remove_handle, "curl_multi_remove_handle") |
	       sym(l, &curl_dl.multi_socket_action, "curl_multi_socket_action") |
	       sym(l, &curl_dl.multi_info_read, "curl_multi_info_read") |
	       sym(l, &curl_dl.multi_assign, "curl_multi_assign") |
	       sym(l, &curl_dl.multi_cleanup, "curl_multi_cleanup");
}

int curl_dl_load(const char **error_r)
{
	void *l;

	if (curl_dl.lib != NULL)
		return 0;
	if ((l = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL)) == NULL) {
		*error_r = "libcurl (libcurl4) is not installed";
		return -1;
	}
	if (load_all(l) < 0) {
		dlclose(l);
		*error_r = "libcurl.so.4 lacks a function mailkeep needs";
		return -1;
	}
	if (curl_dl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		dlclose(l);
		*error_r = "curl_global_init failed";
		return -1;
	}
	curl_dl.lib = l;
	return 0;
}
