/* log: one line per event on stderr, text or JSON (STYLE §5). Owns the log
 * settings, the only mutable globals in the tree. */
#include "log.h"

#include "utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum log_level log_current_level = LOG_LEVEL_INFO;
static enum log_format log_current_format = LOG_FORMAT_TEXT;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void log_set_level(enum log_level level)
{
	log_current_level = level;
}

void log_set_format(enum log_format format)
{
	log_current_format = format;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

int log_parse_format(const char *s, enum log_format *out)
{
	if (strcmp(s, "text") == 0) {
		*out = LOG_FORMAT_TEXT;
	} else if (strcmp(s, "json") == 0) {
		*out = LOG_FORMAT_JSON;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* A JSON string body (RFC 8259 §7) that is always valid UTF-8: '"' and
 * '\\' escaped, control bytes as \u00XX, and a byte that is not UTF-8
 * (a config value quoted as is, a message cut inside a character) as the
 * text \xHH, as utf8_escape writes it for text lines. */
static size_t json_escape(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t left = strlen(src);
	size_t n = 0;

	/* Room for the longest item ("\\xHH" or "\u00XX": 6) and the NUL. */
	while (left > 0 && n + 7 <= cap) {
		size_t k = utf8_seq_len(s, left);

		if (k == 0) {
			n += (size_t)snprintf(dst + n, cap - n, "\\\\x%02X", *s);
			k = 1;
		} else if (*s == '"' || *s == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)*s;
		} else if (*s < 0x20 || *s == 0x7f) {
			n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", *s);
		} else {
			memcpy(dst + n, s, k);
			n += k;
		}
		s += k;
		left -= k;
	}
	dst[n] = '\0';
	return n;
}

void log_write(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	char stamp[64];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int saved_errno = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	/* The wall clock is fine here: it only labels a human-facing line. */
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

	if (log_current_format == LOG_FORMAT_JSON) {
		char esc[sizeof(msg) * 6];

		json_escape(esc, sizeof(esc), msg);
		if (level >= LOG_LEVEL_DEBUG) {
			fprintf(stderr,
				"{\"ts\":\"%s\",\"level\":\"%s\",\"src\":\"%s:%d\",\"msg\":\"%s\"}"
				"\n",
				stamp, level_names[level], file, line, esc);
		} else {
			fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}\n", stamp,
				level_names[level], esc);
		}
	} else {
		/* One line, valid UTF-8: a newline in a quoted value must not
		 * start a line of its own. */
		char esc[sizeof(msg) * 4];

		utf8_escape(esc, sizeof(esc), msg);
		if (level >= LOG_LEVEL_DEBUG) {
			fprintf(stderr, "%s %-5s %s (%s:%d)\n", stamp, level_names[level], esc,
				file, line);
		} else {
			fprintf(stderr, "%s %-5s %s\n", stamp, level_names[level], esc);
		}
	}
	errno = saved_errno;
}

bool log_bucket_take(struct log_bucket *b, uint64_t now_us, uint32_t burst, uint64_t interval_us)
{
	if (b->last_us == 0 || now_us < b->last_us) {
		b->last_us = now_us;
		b->tokens = burst;
	}
	uint64_t refill = interval_us ? (now_us - b->last_us) / interval_us : burst;
	if (refill > 0) {
		uint64_t t = b->tokens + refill;
		b->tokens = t > burst ? burst : (uint32_t)t;
		b->last_us = now_us;
	}
	if (b->tokens == 0) {
		b->suppressed++;
		return false;
	}
	b->tokens--;
	return true;
}
