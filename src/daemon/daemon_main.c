/* mailkeep-main: the main process (DESIGN §4), executed by
 * `mailkeep serve` as `mailkeep-main -c FILE`; see exe.h. */
#include <stdio.h>
#include <string.h>

#include "daemon/daemon.h"

int main(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "-c") != 0) {
		fprintf(stderr, "usage: mailkeep-main -c FILE (or: mailkeep "
			"-c FILE serve)\n");
		return 2;
	}
	return daemon_serve(argv[2]);
}
