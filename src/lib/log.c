/* log: timestamped key=value lines on stderr. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

static char log_proc[16] = "mailkeep";
static enum log_level log_level = LOGL_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_init(const char *proc)
{
	snprintf(log_proc, sizeof(log_proc), "%s", proc);
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	struct timeval tv;
	struct tm tm;
	struct buf line = BUF_INIT;
	char ts[32];

	if (level > log_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(&line, "%s.%03dZ %s[%d]: ", ts, (int)(tv.tv_usec / 1000),
		   log_proc, (int)getpid());
	if (level <= LOGL_WARN)
		buf_printf(&line, "%s: ", level_names[level]);
	buf_vprintf(&line, fmt, ap);
	buf_appendc(&line, '\n');
	/* One write per line so lines from several processes never interleave. */
	if (write(STDERR_FILENO, line.ptr, line.len) < 0) {
		/* nowhere left to report it */
	}
	buf_free(&line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOGL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

const char *log_safe(char *out, unsigned size, const char *s, unsigned len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned o = 0;

	if (size == 0)
		return out;
	for (unsigned i = 0; i < len && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
