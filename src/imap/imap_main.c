/* mailkeep-imap: the imap process (DESIGN §4: IMAP and POP3 sessions),
 * started by main as `mailkeep-imap -c FILE`; see daemon/exe.h. */
#include "daemon/exe.h"
#include "imap/imap_server.h"

int main(int argc, char **argv)
{
	return exe_child_main(argc, argv, imap_server_main);
}
