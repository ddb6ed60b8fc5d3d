/* libFuzzer target for the SPF evaluator (src/mailauth/spf_eval.c): the
 * input gives the client IP, MAIL FROM and HELO (one line each), then the
 * answers to whatever the evaluator asks, in order: one byte (rcode in the
 * low 2 bits, record count in the next 4), then that many records, each
 * ended by '\n' (records may hold NUL bytes). The evaluation must end
 * within the processing limits with a proper result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* §4.6.4 bounds every evaluation: 1 + 10 terms x 11 + 11 PTR + 1 exp. */
#define MAX_QUESTIONS 130

struct input {
	const char *p;
	size_t left;
};

/* The next line of the input (without its '\n'), as a C string. */
static char *next_line(struct input *in, size_t *len_r)
{
	const char *nl = memchr(in->p, '\n', in->left);
	size_t len = nl != NULL ? (size_t)(nl - in->p) : in->left;
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	memcpy(s, in->p, len);
	s[len] = '\0';
	in->p += len + (nl != NULL);
	in->left -= len + (nl != NULL);
	if (len_r != NULL)
		*len_r = len;
	return s;
}

static void answer(struct spf_eval *e, struct input *in)
{
	struct dnsq_answer a = { DNSQ_NXDOMAIN, 0, NULL, NULL, NULL };
	char *rr[16];
	size_t len[16];
	uint8_t b;

	if (in->left > 0) {
		b = (uint8_t)*in->p++;
		in->left--;
		a.rcode = (enum dnsq_rcode)(b & 3);
		for (a.n = 0; a.n < ((b >> 2) & 15u); a.n++)
			rr[a.n] = next_line(in, &len[a.n]);
	}
	a.rr = rr;
	a.rr_len = len;
	spf_eval_answer(e, &a);
	for (size_t i = 0; i < a.n; i++)
		free(rr[i]);
}

/* Reasons and explanations go into logs and SMTP replies. */
static void check_printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s < 0x20 || *s > 0x7e)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { (const char *)data, size };
	char *ip = next_line(&in, NULL), *from = next_line(&in, NULL);
	char *helo = next_line(&in, NULL);
	struct spf_eval *e = spf_eval_new(ip, from, helo, "receiver.example");
	enum spf_result r;
	struct dnsq q;
	int asked = 0;

	while ((r = spf_eval_step(e, &q)) == SPF_NEED_DNS) {
		if (++asked > MAX_QUESTIONS || strlen(q.name) > DNSQ_NAME_MAX)
			abort();
		answer(e, &in);
	}
	if (r > SPF_PERMERROR || (spf_eval_explanation(e) != NULL) != (r == SPF_FAIL))
		abort();
	check_printable(spf_eval_reason(e));
	if (r == SPF_FAIL)
		check_printable(spf_eval_explanation(e));
	spf_eval_free(e);
	free(ip);
	free(from);
	free(helo);
	return 0;
}
