/* mailkeep-smtp: the smtp process (DESIGN §4), started by main as
 * `mailkeep-smtp -c FILE`; see daemon/exe.h.
 *
 * `mailkeep-smtp -c FILE check-tls` is main's certificate check: it loads
 * the configuration text on fd 4, tries the certificate and key, prints
 * the reason on failure and exits 1. */
#include <stdio.h>
#include <string.h>

#include "daemon/conf/config.h"
#include "daemon/exe.h"
#include "daemon/proc.h"
#include "smtp/smtp_server.h"
#include "tls/tls.h"

static int check_tls(const char *config_path)
{
	struct config cfg;
	struct buf err = BUF_INIT;
	const char *why = NULL;
	int ret = 0;

	if (config_load_fd(&cfg, config_path, PROC_CONFIG_FD, &err) < 0) {
		fputs(buf_cstr(&err), stdout);
		buf_free(&err);
		return 1;
	}
	if (tls_check_files(&cfg, &why) < 0) {
		fputs(why, stdout);
		ret = 1;
	}
	config_free(&cfg);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "-c") == 0 &&
	    strcmp(argv[3], "check-tls") == 0)
		return check_tls(argv[2]);
	return exe_child_main(argc, argv, smtp_server_main);
}
