/* mailkeep-auth: the auth process (DESIGN §4), started by main as
 * `mailkeep-auth -c FILE`; see daemon/exe.h. */
#include "daemon/exe.h"
#include "auth/auth_server.h"

int main(int argc, char **argv)
{
	return exe_child_main(argc, argv, auth_server_main);
}
