/* log: the one logger (STYLE §5). One line per event to stderr, text or JSON.
 * The level is tested before formatting; debug and trace add file:line. */
#ifndef WH_LOG_H
#define WH_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_TRACE,
};

enum log_format {
	LOG_FORMAT_TEXT = 0,
	LOG_FORMAT_JSON,
};

/* The log settings are the one allowed global (STYLE §1). */
extern enum log_level log_current_level;

void log_set_level(enum log_level level);
void log_set_format(enum log_format format);
/* Parse "error|warn|info|debug|trace"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);
/* Parse "text|json"; returns 0 or -EINVAL. */
int log_parse_format(const char *s, enum log_format *out);

void log_write(enum log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_at(lvl, ...)                                                   \
	do {                                                               \
		if ((lvl) <= log_current_level) {                          \
			log_write((lvl), __FILE__, __LINE__, __VA_ARGS__); \
		}                                                          \
	} while (0)

#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)
#if defined(WH_TRACE) && WH_TRACE
#define log_trace(...) log_at(LOG_LEVEL_TRACE, __VA_ARGS__)
#else
#define log_trace(...) \
	do {           \
	} while (0)
#endif

/* A token bucket for log lines that remote input can trigger: at most
 * `burst` lines, refilled at one line per `interval_us`. */
struct log_bucket {
	uint64_t last_us;
	uint32_t tokens;
	uint32_t suppressed;
};

/* True when a line may be written now; counts suppressed lines otherwise. */
bool log_bucket_take(struct log_bucket *b, uint64_t now_us, uint32_t burst, uint64_t interval_us);

#define log_ratelimited(bucket, now_us, lvl, ...)                                                  \
	do {                                                                                       \
		if ((lvl) <= log_current_level && log_bucket_take((bucket), (now_us), 5, 1000000)) \
			log_write((lvl), __FILE__, __LINE__, __VA_ARGS__);                         \
	} while (0)

#endif
