/* exe: the daemon's programs (DESIGN §4).
 *
 * Every process of `mailkeep serve` is its own executable, installed next
 * to mailkeep: mailkeep-main, mailkeep-smtp, mailkeep-queue, mailkeep-auth
 * and mailkeep-imap. Each is linked with only what its role uses, so main
 * (which keeps root) maps no TLS, DNS or SQLite code at all and auth maps
 * no network parsers; a process also costs only the memory of its own
 * libraries. `mailkeep serve` executes mailkeep-main, which starts the
 * others as `mailkeep-ROLE -c FILE` with its channel on fd 3 and the
 * configuration text on fd 4 (see proc.h). */
#ifndef MK_EXE_H
#define MK_EXE_H

#include "daemon/proc.h"
#include "lib/buf.h"

/* The path of the daemon program `mailkeep-NAME`: the directory of the
 * running executable, then the name. -1 (with *error_r) if the running
 * executable's path cannot be read. */
int exe_path(const char *name, struct buf *out, const char **error_r);
/* Replace this process with `mailkeep-NAME` and the given arguments after
 * argv[0]; returns only on failure (with *error_r). */
int exe_run(const char *name, char *const args[], const char **error_r);
/* main() of a child program: argv is `mailkeep-ROLE -c FILE`; returns
 * run(FILE), or 2 after a usage message. */
int exe_child_main(int argc, char **argv,
		   int (*run)(const char *config_path));

#endif
