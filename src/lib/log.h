/* log: one line per event, key=value, to stderr (STYLE §8).
 *   2026-11-22T10:00:00.123Z smtp[4242]: session=4f2a queue=7c91 status=sent
 * Levels below the configured one are dropped cheaply. */
#ifndef MK_LOG_H
#define MK_LOG_H

#include <stdarg.h>

enum log_level {
	LOGL_ERROR = 0,
	LOGL_WARN = 1,
	LOGL_INFO = 2,
	LOGL_DEBUG = 3,
};

/* proc names the process role ("main", "smtp", ...) in every line. */
void log_init(const char *proc);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error|warn|info|debug"; -1 if unknown. */
int log_level_parse(const char *s);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)

/* Log an error and exit(1): for start-up failures of the environment. */
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* Copy s into out[size] with control characters and non-ASCII shown as
 * \xNN, so hostile strings cannot forge log lines. Returns out. */
const char *log_safe(char *out, unsigned size, const char *s, unsigned len);

#endif
