/* Unit tests for pam_map: login names and addresses to system user names,
 * uid ranges, locked and expired shadow entries. */
#include "auth/pam_map.h"

#include "harness.h"

static const struct pam_map_config cfg = {
	.domain = "example.org", .min_uid = 1000, .max_uid = 60000,
};

struct name_case {
	const char *name;
	const char *user;	/* NULL: not mapped */
};

static const struct name_case names[] = {
	{ "alice", "alice" },
	{ "alice@example.org", "alice" },
	{ "Alice@EXAMPLE.ORG", "alice" },
	{ "ALICE", "alice" },
	{ "_svc", "_svc" },
	{ "a.b-c_9", "a.b-c_9" },
	{ "u12345678901234567890123456789ab", "u12345678901234567890123456789ab" },
	/* not mapped */
	{ "u12345678901234567890123456789abc", NULL },	/* 33 bytes */
	{ "alice@example.net", NULL },
	{ "alice@sub.example.org", NULL },
	{ "alice@", NULL },
	{ "@example.org", NULL },
	{ "", NULL },
	{ "-alice", NULL },
	{ "9lives", NULL },
	{ ".alice", NULL },
	{ "alice+tag@example.org", NULL },
	{ "al ice", NULL },
	{ "al/ice", NULL },
	{ "al:ice", NULL },
	{ "\"alice\"@example.org", NULL },
	{ "alice@example.org@example.org", NULL },
	{ "j\xc3\xb6rg", NULL },
	{ "root\n", NULL },
};

TEST(names)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char user[PAM_MAP_USER_MAX + 1] = "junk";
		int rc = pam_map_name(&cfg, names[i].name, user);

		if (names[i].user == NULL) {
			CHECK(rc == -1);
			CHECK_STREQ(user, "");
		} else {
			CHECK(rc == 0);
			CHECK_STREQ(user, names[i].user);
		}
		if ((rc == 0) != (names[i].user != NULL))
			fprintf(stderr, "  case %zu: %s\n", i, names[i].name);
	}
}

TEST(no_domain)
{
	struct pam_map_config c = cfg;
	char user[PAM_MAP_USER_MAX + 1];

	c.domain = NULL;
	CHECK(pam_map_name(&c, "alice", user) == 0);
	CHECK(pam_map_name(&c, "alice@example.org", user) == -1);
}

TEST(uid_range)
{
	static const struct { uint64_t uid; bool ok; } cases[] = {
		{ 0, false }, { 1, false }, { 999, false }, { 1000, true },
		{ 1001, true }, { 60000, true }, { 60001, false },
		{ 65534, false }, { 4294967295u, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(pam_map_uid_ok(&cfg, cases[i].uid) == cases[i].ok);
}

TEST(locked)
{
	static const struct {
		const char *hash;
		long expire, today;
		bool locked;
	} cases[] = {
		{ "$y$j9T$salt$hash", -1, 20000, false },
		{ NULL, -1, 20000, false },		/* shadow not readable */
		{ "", -1, 20000, false },		/* no password: PAM decides */
		{ "!", -1, 20000, true },		/* useradd without password */
		{ "!$y$j9T$salt$hash", -1, 20000, true },	/* usermod -L */
		{ "*", -1, 20000, true },
		{ "!*", -1, 20000, true },
		{ "$y$j9T$salt$hash", 20001, 20000, false },
		{ "$y$j9T$salt$hash", 20000, 20000, true },	/* expires today */
		{ "$y$j9T$salt$hash", 19000, 20000, true },
		{ "$y$j9T$salt$hash", 0, 20000, true },
		{ NULL, 19000, 20000, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(pam_map_locked(cases[i].hash, cases[i].expire,
				     cases[i].today) == cases[i].locked);
}

int main(void)
{
	RUN(names);
	RUN(no_domain);
	RUN(uid_range);
	RUN(locked);
	return test_summary();
}
