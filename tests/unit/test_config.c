/* Unit tests for the configuration parser (src/daemon/conf/config.c),
 * and the check that docs/mailkeep.conf.5.md documents every option. */
#include "harness.h"

#include <stdlib.h>

#include "daemon/conf/config.h"
#include "lib/buf.h"

static const char minimal[] =
	"hostname = mail.example.org\n"
	"domains  = example.org, Example.NET\n"
	"data_dir = /var/lib/mailkeep\n";

static int parse(const char *text, struct config *cfg, struct buf *err)
{
	return config_parse(cfg, "test.conf", text, strlen(text), err);
}

TEST(minimal_gets_defaults)
{
	struct config cfg;
	struct buf err = BUF_INIT;

	CHECK_INTEQ(parse(minimal, &cfg, &err), 0);
	CHECK_STREQ(cfg.hostname, "mail.example.org");
	CHECK_INTEQ(cfg.domains.n, 2);
	CHECK_STREQ(cfg.domains.v[1], "example.net");
	CHECK_INTEQ(cfg.smtp_max_message_size, 50 * 1024 * 1024);
	CHECK_INTEQ(cfg.smtp_command_timeout, 300);
	CHECK_INTEQ(cfg.smtp_bare_newline, BARE_NEWLINE_NORMALIZE);
	CHECK_STREQ(cfg.recipient_delimiter, "+");
	CHECK_STREQ(cfg.data_dir, "/var/lib/mailkeep");
	CHECK(config_is_local_domain(&cfg, "EXAMPLE.org"));
	CHECK(!config_is_local_domain(&cfg, "example.com"));
	config_free(&cfg);
	buf_free(&err);
}

TEST(sections_and_values)
{
	struct config cfg;
	struct buf err = BUF_INIT;
	struct buf text = BUF_INIT;

	buf_printf(&text, "%s# comment\n\n[smtp]\nmax_message_size = 10M\n"
		   "command_timeout = 2m\nbare_newline = reject\n"
		   "relay_networks = 127.0.0.0/8, ::1\n[tls]\ncert = c.pem\n"
		   "key = /k.pem\n[listen]\nsmtp = 127.0.0.1:2525, [::1]:2525\n",
		   minimal);
	CHECK_INTEQ(parse(buf_cstr(&text), &cfg, &err), 0);
	CHECK_STREQ(buf_cstr(&err), "");
	CHECK_INTEQ(cfg.smtp_max_message_size, 10 * 1024 * 1024);
	CHECK_INTEQ(cfg.smtp_command_timeout, 120);
	CHECK_INTEQ(cfg.smtp_bare_newline, BARE_NEWLINE_REJECT);
	CHECK_INTEQ(cfg.smtp_relay_networks.n, 2);
	CHECK_INTEQ(cfg.listen[SVC_SMTP].n, 2);
	CHECK(cfg.tls_cert[0] == '/');	/* made absolute */
	CHECK_STREQ(cfg.tls_key, "/k.pem");
	config_free(&cfg);
	buf_free(&text);
	buf_free(&err);
}

/* Each bad file must fail with this exact FILE:LINE: prefix. */
static const struct {
	const char *text;
	const char *error;
} bad[] = {
	{ "hostname = a.b\ndomains = b\n", "test.conf: required option 'data_dir'" },
	{ "hostname = a.b\ndomains = b\ndata_dir = /d\nbogus = 1\n",
	  "test.conf:4: unknown option 'bogus'" },
	{ "hostname = a.b\ndomains = b\ndata_dir = /d\n[nope]\n",
	  "test.conf:4: unknown section [nope]" },
	{ "hostname = a.b\ndomains = b\ndata_dir = /d\n[smtp]\nmax_recipients = 0\n",
	  "test.conf:5: max_recipients: value out of range" },
	{ "hostname = a.b\ndomains = b\ndata_dir = /d\n[smtp]\nmax_message_size = 5X\n",
	  "test.conf:5: max_message_size: expected a size" },
	{ "hostname = a.b\ndomains = b\ndata_dir = /d\n[smtp]\nbare_newline = maybe\n",
	  "test.conf:5: bare_newline: not one of the allowed values" },
	{ "hostname = a.b\nhostname = c.d\n", "test.conf:2: option 'hostname' given twice" },
	{ "hostname = a.b\ndomains = b\ndata_dir = /d\nnovalue\n",
	  "test.conf:4: expected key = value" },
	{ "hostname = bad_host!\ndomains = b\ndata_dir = /d\n",
	  "test.conf: hostname 'bad_host!' is not a valid host name" },
	{ "hostname = a.b\ndomains = b\ndata_dir = /d\n[listen]\nsmtp = 1.2.3.4\n",
	  "test.conf: listen: '1.2.3.4' is not ADDRESS:PORT" },
	{ "hostname = a.b\ndomains = b\ndata_dir = /d\n[listen]\nsmtp = 127.0.0.1:25\n",
	  "test.conf: [tls] cert and key are required" },
	{ "hostname = a.b\ndomains = b\ndata_dir = /d\n[smtp]\nrelay_networks = 10.0.0.0/33\n",
	  "test.conf: relay_networks: '10.0.0.0/33' is not a network" },
	{ "hostname = a.b\ndomains = b, ,c\ndata_dir = /d\n",
	  "test.conf:2: domains: empty item in list" },
	{ "hostname = a.b\n[smtp\n", "test.conf:2: malformed section header" },
};

TEST(bad_files)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config cfg;
		struct buf err = BUF_INIT;

		CHECK_INTEQ(parse(bad[i].text, &cfg, &err), -1);
		if (strncmp(buf_cstr(&err), bad[i].error, strlen(bad[i].error)) != 0) {
			fprintf(stderr, "case %zu: got \"%s\"\n", i, buf_cstr(&err));
			CHECK(0);
		}
		config_free(&cfg);
		buf_free(&err);
	}
}

/* docs/mailkeep.conf.5.md must name every option of the table. */
TEST(every_option_documented)
{
	FILE *f = fopen(SOURCE_ROOT "/docs/mailkeep.conf.5.md", "r");
	struct buf doc = BUF_INIT;
	char chunk[4096];
	size_t n;

	CHECK(f != NULL);
	if (f == NULL)
		return;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&doc, chunk, n);
	fclose(f);
	for (size_t i = 0; i < config_option_count(); i++) {
		const struct config_option_info *o = config_option(i);
		char want[128];
		snprintf(want, sizeof(want), "`%s`", o->key);
		if (strstr(buf_cstr(&doc), want) == NULL) {
			fprintf(stderr, "undocumented option: [%s] %s\n", o->section,
				o->key);
			CHECK(0);
		}
	}
	buf_free(&doc);
}

int main(void)
{
	RUN(minimal_gets_defaults);
	RUN(sections_and_values);
	RUN(bad_files);
	RUN(every_option_documented);
	return test_summary();
}
