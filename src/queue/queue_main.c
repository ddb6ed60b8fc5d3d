/* mailkeep-queue: the queue process (DESIGN §4), started by main as
 * `mailkeep-queue -c FILE`; see daemon/exe.h. */
#include "daemon/exe.h"
#include "queue/queue_server.h"

int main(int argc, char **argv)
{
	return exe_child_main(argc, argv, queue_server_main);
}
