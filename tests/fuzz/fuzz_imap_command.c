/* libFuzzer target: the IMAP command parser (src/imap/imap_parser.c).
 *
 * The input is client bytes. They are parsed in one piece and again in
 * pieces whose sizes come from a generator seeded by the input; both runs
 * must give the same transcript (commands, continuations, streamed data,
 * error replies), with and without APPEND streaming. Every complete
 * command also goes through the SEARCH key parser, sequence-set parsing
 * (which must survive a format/parse round trip) and section parsing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_parser.h"
#include "imap/imap_search.h"
#include "imap/imap_section.h"
#include "imap/imap_seqset.h"
#include "lib/str.h"

/* Small limits, so that every limit is reached. */
static const struct imap_parser_limits fuzz_limits = {
	.max_line = 256,
	.max_literal = 64,
	.max_append = 128,
	.max_command = 1024,
	.max_drain = 256,
	.max_depth = 8,
	.max_args = 64,
};

static void check_seqset(const struct imap_arg *a, uint32_t max)
{
	struct imap_seqset set, again;
	struct buf text = BUF_INIT, text2 = BUF_INIT;
	const char *error;

	imap_seqset_init(&set);
	imap_seqset_init(&again);
	if (imap_seqset_parse(&set, a->str, a->len, 16, &error) == 0) {
		imap_seqset_resolve(&set, max);
		imap_seqset_format(&set, &text);
		if (text.len > 0) {
			if (imap_seqset_parse(&again, text.ptr, text.len, 0, &error) < 0)
				abort();
			imap_seqset_format(&again, &text2);
			if (strcmp(text.ptr, text2.ptr) != 0 ||
			    imap_seqset_count(&set) != imap_seqset_count(&again))
				abort();
		}
		if (set.n > 0 && !imap_seqset_contains(&set, imap_seqset_max(&set)))
			abort();
	}
	buf_free(&text);
	buf_free(&text2);
	imap_seqset_free(&set);
	imap_seqset_free(&again);
}

static void check_args(const struct imap_arg *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct imap_arg *a = &v[i];
		struct imap_section sec;
		const char *error;

		if (a->type == IMAP_ARG_LIST) {
			check_args(a->list, a->count);
		} else if (a->type == IMAP_ARG_ATOM) {
			check_seqset(a, (uint32_t)a->len * 7);
		}
		if (a->flags & IMAP_ARG_F_SECTION) {
			memset(&sec, 0, sizeof(sec));
			imap_section_parse(a->str + a->sect_off, a->sect_len, &sec,
					   &error);
			if (a->part_len > 0)
				imap_section_parse_partial(a->str + a->part_off,
							   a->part_len, &sec, &error);
			imap_section_free(&sec);
		}
	}
}

static void check_command(const struct imap_command *cmd)
{
	struct imap_search_node *root;
	const struct imap_arg *args = cmd->args;
	unsigned count = cmd->count;
	const char *error;

	if (str_ieq(cmd->name, "UID") && count > 0) {
		args++;
		count--;
	}
	if (count > 0 && imap_arg_atom_eq(&args[0], "SEARCH")) {
		if (imap_search_parse(args + 1, count - 1, &root, &error) == 0) {
			struct buf out = BUF_INIT;

			imap_search_dump(root, &out);
			buf_free(&out);
			imap_search_free(root);
		}
	}
	check_args(cmd->args, cmd->count);
}

/* Feed data in pieces (sizes from seed; 0: one piece); transcript out. */
static void run(const uint8_t *data, size_t len, bool stream, uint32_t seed,
		struct buf *out)
{
	struct imap_parser *p = imap_parser_new(&fuzz_limits, stream);
	size_t pos = 0, end = 0;
	bool whole = seed == 0;

	while (pos < len) {
		size_t used;
		const void *chunk;
		size_t clen;

		if (end <= pos) {
			seed = seed * 1103515245u + 12345u;
			end = whole ? len : pos + 1 + (seed >> 16) % 8;
			end = end > len ? len : end;
		}
		switch (imap_parser_feed(p, data + pos, end - pos, &used)) {
		case IMAP_PARSE_MORE:
			break;
		case IMAP_PARSE_CONTINUE:
			buf_appends(out, "+\n");
			break;
		case IMAP_PARSE_CHUNK:
			imap_parser_chunk(p, &chunk, &clen);
			buf_append(out, chunk, clen);
			break;
		case IMAP_PARSE_DONE:
			imap_command_dump(imap_parser_command(p), out);
			buf_appendc(out, '\n');
			if (whole)
				check_command(imap_parser_command(p));
			imap_parser_next(p);
			break;
		case IMAP_PARSE_ERROR:
			imap_parser_error_reply(p, out);
			imap_parser_next(p);
			break;
		}
		pos += used;
	}
	imap_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed = 2166136261u;

	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 16777619u;
	seed |= 1;
	for (int stream = 0; stream <= 1; stream++) {
		struct buf whole = BUF_INIT, split = BUF_INIT;

		run(data, size, stream, 0, &whole);
		run(data, size, stream, seed, &split);
		if (whole.len != split.len ||
		    (whole.len > 0 && memcmp(whole.ptr, split.ptr, whole.len) != 0))
			abort();
		buf_free(&whole);
		buf_free(&split);
	}
	return 0;
}
