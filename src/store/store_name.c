/* store_name: Maildir file and folder names (maildir(5), Maildir++). */
#include "store/store_name.h"

#include <inttypes.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/str.h"
#include "store/store.h"

static const char hexdig[] = "0123456789ABCDEF";

/* Maildir info letters, in the ASCII order maildir(5) asks for. */
static const struct {
	char letter;
	unsigned flag;
} flag_letters[] = {
	{ 'D', STORE_FLAG_DRAFT },
	{ 'F', STORE_FLAG_FLAGGED },
	{ 'P', STORE_FLAG_FORWARDED },
	{ 'R', STORE_FLAG_ANSWERED },
	{ 'S', STORE_FLAG_SEEN },
	{ 'T', STORE_FLAG_DELETED },
};

static bool key_char_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int store_name_key_encode(struct buf *out, const char *key)
{
	size_t start = out->len;

	if (*key == '\0')
		return -1;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		if (key_char_plain(*p)) {
			buf_appendc(out, (char)*p);
		} else {
			buf_appendc(out, '=');
			buf_appendc(out, hexdig[*p >> 4]);
			buf_appendc(out, hexdig[*p & 15]);
		}
		if (out->len - start > STORE_DELIVERY_KEY_MAX) {
			buf_truncate(out, start);
			return -1;
		}
	}
	return 0;
}

static int hexval(char c)
{
	const char *p = c ? strchr(hexdig, c) : NULL;

	return p ? (int)(p - hexdig) : -1;
}

int store_name_key_decode(struct buf *out, const char *enc, size_t len)
{
	size_t start = out->len;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (key_char_plain((unsigned char)enc[i])) {
			buf_appendc(out, enc[i]);
			continue;
		}
		if (enc[i] != '=' || len - i < 3 ||
		    (hi = hexval(enc[i + 1])) < 0 ||
		    (lo = hexval(enc[i + 2])) < 0 || (hi == 0 && lo == 0) ||
		    key_char_plain((unsigned char)(hi << 4 | lo))) {
			buf_truncate(out, start);
			return -1;	/* not what store_name_key_encode makes */
		}
		buf_appendc(out, (char)(hi << 4 | lo));
		i += 2;
	}
	return len > 0 ? 0 : -1;
}

void store_name_host(char *out, size_t size, const char *host)
{
	size_t n = 0, cap = size - 1 < STORE_NAME_HOST_MAX ?
				    size - 1 : STORE_NAME_HOST_MAX;

	for (const char *p = host; *p; p++) {
		const char *rep = p;
		size_t rlen = 1;

		if (*p == '/' || *p == ':') {
			rep = *p == '/' ? "\\057" : "\\072";
			rlen = 4;
		} else if ((unsigned char)*p < 0x21 || *p == 0x7f) {
			rep = "_";	/* no spaces or controls in names */
		}
		if (n + rlen > cap)
			break;
		memcpy(out + n, rep, rlen);
		n += rlen;
	}
	out[n] = '\0';
	if (n == 0)
		str_copy(out, size, "localhost");
}

int store_name_keyed(struct buf *out, time_t internaldate, const char *key,
		     const char *host, const char **error_r)
{
	size_t start = out->len;

	if (internaldate <= 0) {
		*error_r = "invalid internaldate";
		return -1;
	}
	buf_printf(out, "%" PRId64 ".K", (int64_t)internaldate);
	if (store_name_key_encode(out, key) < 0) {
		buf_truncate(out, start);
		*error_r = "delivery key empty or too long";
		return -1;
	}
	buf_printf(out, ".%s", host);
	return 0;
}

void store_name_unique(struct buf *out, const char *host, unsigned counter)
{
	struct timeval tv;
	char rnd[17];

	gettimeofday(&tv, NULL);
	str_random_hex(rnd, sizeof(rnd));
	buf_printf(out, "%" PRId64 ".M%06ldP%ldQ%uR%s.%s", (int64_t)tv.tv_sec,
		   (long)tv.tv_usec, (long)getpid(), counter, rnd, host);
}

/* The time.unique.host fields; the unique part tells keyed names apart. */
static void parse_fields(const char *name, size_t base_len,
			 struct store_name_info *info)
{
	const char *dot1 = memchr(name, '.', base_len), *uniq, *dot2;
	uint64_t t = 0;
	size_t i;

	info->time = -1;
	if (dot1 == NULL)
		return;
	for (i = 0; name + i < dot1 && name[i] >= '0' && name[i] <= '9'; i++)
		if (i < 12)
			t = t * 10 + (uint64_t)(name[i] - '0');
	if (i > 0 && i <= 12 && name + i == dot1)
		info->time = (int64_t)t;
	uniq = dot1 + 1;
	dot2 = memchr(uniq, '.', base_len - (size_t)(uniq - name));
	if (dot2 != NULL && *uniq == 'K' && dot2 > uniq + 1) {
		info->keyed = true;
		info->key_off = (size_t)(uniq + 1 - name);
		info->key_len = (size_t)(dot2 - uniq - 1);
	}
}

int store_name_parse(const char *name, struct store_name_info *info_r)
{
	const char *colon = strchr(name, ':');

	memset(info_r, 0, sizeof(*info_r));
	if (name[0] == '\0' || name[0] == '.' || colon == name)
		return -1;
	info_r->base_len = colon ? (size_t)(colon - name) : strlen(name);
	if (colon != NULL)
		info_r->flags = store_name_flags_parse(colon + 1);
	parse_fields(name, info_r->base_len, info_r);
	return 0;
}

unsigned store_name_flags_parse(const char *info)
{
	unsigned flags = 0;

	/* maildir(5): "2," then flags; lowercase letters are keywords
	 * (Dovecot extension) and "1," is experimental: neither maps here. */
	if (strncmp(info, "2,", 2) != 0)
		return 0;
	for (const char *p = info + 2; *p; p++)
		for (size_t i = 0; i < sizeof(flag_letters) / sizeof(flag_letters[0]); i++)
			if (*p == flag_letters[i].letter)
				flags |= flag_letters[i].flag;
	return flags;
}

void store_name_flags_format(struct buf *out, unsigned flags)
{
	buf_appends(out, ":2,");
	for (size_t i = 0; i < sizeof(flag_letters) / sizeof(flag_letters[0]); i++)
		if (flags & flag_letters[i].flag)
			buf_appendc(out, flag_letters[i].letter);
}

bool store_name_mailbox_valid(const char *mailbox)
{
	size_t n = strlen(mailbox);

	if (str_ieq(mailbox, "INBOX"))
		return true;
	if (n == 0 || n > STORE_MAILBOX_NAME_MAX || mailbox[0] == '.' ||
	    mailbox[n - 1] == '.' || strstr(mailbox, "..") != NULL ||
	    strchr(mailbox, '/') != NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)mailbox; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

void store_name_canonical(struct buf *out, const char *mailbox)
{
	if (str_nieq(mailbox, "INBOX", 5) && (mailbox[5] == '\0' || mailbox[5] == '.')) {
		buf_appends(out, "INBOX");
		mailbox += 5;
	}
	buf_appends(out, mailbox);
}

bool store_name_is_below(const char *name, const char *parent)
{
	size_t n = strlen(parent);

	return strncmp(name, parent, n) == 0 && name[n] == '.' && name[n + 1] != '\0';
}

void store_name_location(struct buf *out, bool cur, const char *base,
			 unsigned flags)
{
	buf_printf(out, "%s/%s", cur ? "cur" : "new", base);
	if (cur)
		store_name_flags_format(out, flags);
}

int store_name_folder_path(struct buf *out, const char *maildir,
			   const char *mailbox)
{
	if (!store_name_mailbox_valid(mailbox))
		return -1;
	/* Maildir++: INBOX is the Maildir itself, other folders ".Name". */
	if (str_ieq(mailbox, "INBOX"))
		buf_appends(out, maildir);
	else
		buf_printf(out, "%s/.%s", maildir, mailbox);
	return 0;
}
