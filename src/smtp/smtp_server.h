/* smtp_server: the smtp process (DESIGN §4): accepts connections on the
 * listeners main hands over, runs SMTP sessions, asks auth about
 * recipients and hands messages to the queue. */
#ifndef MK_SMTP_SERVER_H
#define MK_SMTP_SERVER_H

/* Entry point of the smtp process (mailkeep-smtp, smtp_main.c). */
int smtp_server_main(const char *config_path);

#endif
