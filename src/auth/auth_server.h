/* auth_server: the auth process (DESIGN §4) — holds the user database and
 * answers the smtp process's recipient lookups. (Credential checks and
 * throttling join it with the submission issue.) */
#ifndef MK_AUTH_SERVER_H
#define MK_AUTH_SERVER_H

int auth_server_main(const char *config_path);

#endif
