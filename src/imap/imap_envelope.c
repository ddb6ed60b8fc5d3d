/* imap_envelope: ENVELOPE from a header block (RFC 3501 §7.4.2, §9
 * "envelope"); the field rules are in imap_envelope.h. */
#include "imap/imap_envelope.h"

#include <string.h>

#include "imap/imap_quote.h"
#include "lib/str.h"
#include "mail/mime_arena.h"
#include "mail/mime_header.h"
#include "mail/rfc5322.h"

enum env_field {
	ENV_DATE, ENV_SUBJECT, ENV_FROM, ENV_SENDER, ENV_REPLY_TO,
	ENV_TO, ENV_CC, ENV_BCC, ENV_IN_REPLY_TO, ENV_MESSAGE_ID,
	ENV_COUNT
};

static const char *const env_names[ENV_COUNT] = {
	"Date", "Subject", "From", "Sender", "Reply-To",
	"To", "Cc", "Bcc", "In-Reply-To", "Message-ID",
};

static bool env_is_address(enum env_field f)
{
	return f >= ENV_FROM && f <= ENV_BCC;
}

struct envelope {
	const char *text[ENV_COUNT];	/* string fields, NULL if absent */
	struct rfc5322_addr_list addr[ENV_COUNT];
	struct mime_arena arena;
};

static void write_addresses(struct buf *out, const struct rfc5322_addr_list *l)
{
	if (l->n == 0) {
		buf_appends(out, "NIL");
		return;
	}
	buf_appendc(out, '(');
	for (size_t i = 0; i < l->n; i++) {
		const struct rfc5322_addr *a = &l->v[i];

		buf_appendc(out, '(');
		if (a->name == NULL)
			buf_appends(out, "NIL");
		else
			imap_quote_human(out, a->name, strlen(a->name));
		buf_appendc(out, ' ');
		imap_quote_nstring(out, a->route);
		buf_appendc(out, ' ');
		imap_quote_nstring(out, a->mailbox);
		buf_appendc(out, ' ');
		imap_quote_nstring(out, a->host);
		buf_appendc(out, ')');
	}
	buf_appendc(out, ')');
}

static void read_fields(struct envelope *env, const char *hdr, size_t len)
{
	struct mime_header_iter it;
	struct mime_header_field f;

	mime_header_iter_init(&it, hdr, len);
	while (mime_header_next(&it, &f) > 0) {
		for (int i = 0; i < ENV_COUNT; i++) {
			if (!mime_header_name_is(&f, env_names[i]))
				continue;
			if (env_is_address(i))
				rfc5322_addr_parse(&env->addr[i], f.value, f.value_len);
			else
				env->text[i] = mime_arena_strndup(&env->arena, f.value,
								  f.value_len);
			break;
		}
	}
}

/* Sender and Reply-To default to From (RFC 3501 §7.4.2). */
static const struct rfc5322_addr_list *
addr_or_from(const struct envelope *env, enum env_field f)
{
	if (env->addr[f].n == 0 && (f == ENV_SENDER || f == ENV_REPLY_TO))
		return &env->addr[ENV_FROM];
	return &env->addr[f];
}

void imap_envelope_write(const char *hdr, size_t len, struct buf *out)
{
	struct envelope env;
	const char *subject;

	memset(&env, 0, sizeof(env));
	read_fields(&env, hdr, len);
	imap_quote_nstring_nolf(out, env.text[ENV_DATE]);
	buf_appendc(out, ' ');
	subject = env.text[ENV_SUBJECT];
	if (subject == NULL)
		buf_appends(out, "NIL");
	else
		imap_quote_human(out, subject, strlen(subject));
	for (int i = ENV_FROM; i <= ENV_BCC; i++) {
		buf_appendc(out, ' ');
		write_addresses(out, addr_or_from(&env, i));
	}
	buf_appendc(out, ' ');
	imap_quote_nstring_nolf(out, env.text[ENV_IN_REPLY_TO]);
	buf_appendc(out, ' ');
	imap_quote_nstring_nolf(out, env.text[ENV_MESSAGE_ID]);
	for (int i = 0; i < ENV_COUNT; i++)
		rfc5322_addr_list_free(&env.addr[i]);
	mime_arena_free(&env.arena);
}
