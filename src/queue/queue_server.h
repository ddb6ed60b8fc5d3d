/* queue_server: the queue process (DESIGN §4) — creates and commits queue
 * files for the smtp process (group commit), and delivers local mail into
 * the account stores. */
#ifndef MK_QUEUE_SERVER_H
#define MK_QUEUE_SERVER_H

int queue_server_main(const char *config_path);

#endif
