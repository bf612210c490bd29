/* test_log: the logger's line formats (common/log.c). A JSON line must
 * always parse, whatever bytes the message quotes (a config value that is
 * not UTF-8, control characters, a message cut inside a character), and a
 * text line must stay one line. Each case captures stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "common/log.h"
#include "common/utf8.h"

#define OUT_MAX 16384

/* One log_write at level with format and a message "%s" of value, stderr
 * captured into out. */
static void log_captured(enum log_format format, enum log_level level, const char *value, char *out)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	log_set_format(format);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	log_write(level, "common/x.c", 12, "flow \"%s\": refused", value);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	log_set_format(LOG_FORMAT_TEXT);
	rewind(tmp);
	n = fread(out, 1, OUT_MAX - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
}

/* The whole output is one line of valid UTF-8 ending in '\n'. */
static void assert_one_utf8_line(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);

	assert_true(left > 0 && s[left - 1] == '\n');
	left--;
	while (left > 0) {
		size_t k = utf8_seq_len(p, left);

		if (k == 0 || *p < 0x20) {
			fail_msg("byte 0x%02x at %zu", *p, (size_t)(p - (const unsigned char *)s));
		}
		p += k;
		left -= k;
	}
}

/* Parse a JSON line and return its "msg" into msg. */
static void json_msg(const char *line, char *msg, size_t cap)
{
	cJSON *j = cJSON_Parse(line);
	const cJSON *m;

	if (!j) {
		fail_msg("not JSON: %s", line);
	}
	m = cJSON_GetObjectItemCaseSensitive(j, "msg");
	assert_true(cJSON_IsString(m));
	snprintf(msg, cap, "%s", m->valuestring);
	cJSON_Delete(j);
}

static void test_log_json_line_escapes_bytes_that_are_not_utf8(void **state)
{
	static char out[OUT_MAX];
	char msg[OUT_MAX];

	(void)state;
	log_captured(LOG_FORMAT_JSON, LOG_LEVEL_WARN, "mav\xfflink", out);
	assert_one_utf8_line(out);
	assert_non_null(strstr(out, "\"msg\":\"flow \\\"mav\\\\xFFlink\\\": refused\"}"));
	json_msg(out, msg, sizeof(msg));
	assert_string_equal(msg, "flow \"mav\\xFFlink\": refused");
}

static void test_log_json_line_keeps_utf8_and_escapes_controls(void **state)
{
	static char out[OUT_MAX];
	char msg[OUT_MAX];

	(void)state;
	log_captured(LOG_FORMAT_JSON, LOG_LEVEL_DEBUG, "caf\xc3\xa9\n\"x\"\\\t\x7f", out);
	assert_one_utf8_line(out);
	assert_non_null(strstr(out, "\"src\":\"common/x.c:12\""));
	json_msg(out, msg, sizeof(msg));
	assert_string_equal(msg, "flow \"caf\xc3\xa9\n\"x\"\\\t\x7f\": refused");
}

static void test_log_json_line_of_a_cut_message_still_parses(void **state)
{
	static char out[OUT_MAX];
	char value[3000];
	char msg[OUT_MAX];

	(void)state;
	/* Past the 1024-byte message buffer: cut inside a character, for each
	 * alignment; and escapes of invalid bytes all along. */
	for (size_t shift = 0; shift < 3; shift++) {
		memset(value, 'x', shift);
		for (size_t i = shift; i + 2 < sizeof(value); i += 2) {
			value[i] = (char)(i % 10 == 0 ? 0xff : 0xc3);
			value[i + 1] = (char)(i % 10 == 0 ? '"' : 0xa9);
		}
		value[sizeof(value) - 1] = '\0';
		log_captured(LOG_FORMAT_JSON, LOG_LEVEL_ERROR, value, out);
		assert_one_utf8_line(out);
		json_msg(out, msg, sizeof(msg));
	}
}

static void test_log_text_line_stays_one_line_of_utf8(void **state)
{
	static char out[OUT_MAX];

	(void)state;
	log_captured(LOG_FORMAT_TEXT, LOG_LEVEL_INFO, "a\xff\nerror forged line", out);
	assert_one_utf8_line(out);
	assert_non_null(strstr(out, "info  flow \"a\\xFF\\x0Aerror forged line\": refused\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_json_line_escapes_bytes_that_are_not_utf8),
		cmocka_unit_test(test_log_json_line_keeps_utf8_and_escapes_controls),
		cmocka_unit_test(test_log_json_line_of_a_cut_message_still_parses),
		cmocka_unit_test(test_log_text_line_stays_one_line_of_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
