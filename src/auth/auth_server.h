/* auth_server: the auth process (DESIGN §4) — holds the user database,
 * answers the smtp process's recipient lookups and runs the SASL logins of
 * the imap and smtp processes (MSG_AUTH_*, see auth_client.h), with
 * per-address and per-account throttling. */
#ifndef MK_AUTH_SERVER_H
#define MK_AUTH_SERVER_H

int auth_server_main(const char *config_path);

#endif
