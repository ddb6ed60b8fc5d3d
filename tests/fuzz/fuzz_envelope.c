/* libFuzzer target for src/queue/envelope: the MSG_QUEUE_COMMIT payload
 * the queue takes from the smtp process. What unpacks must keep the
 * envelope's rules (a queue id, recipients, a trace only for one
 * recipient) and pack back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "queue/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope e;
	struct buf b = BUF_INIT;

	if (envelope_unpack(&e, data, size) < 0)
		return 0;
	if (e.qid[0] == '\0' || e.nrcpts == 0 || (e.trace_len > 0 && e.nrcpts != 1))
		abort();
	envelope_pack(&e, &b);
	if (b.len != size || memcmp(b.ptr, data, size) != 0)
		abort();
	envelope_free(&e);
	buf_free(&b);
	return 0;
}
