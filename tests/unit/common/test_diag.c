/* test_diag: one-line errors with a place (common/diag.c): the first error
 * wins, the format, and that quoted values cannot make a message that is
 * not one line of valid UTF-8 (it ends up in JSON: the server's health). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/diag.h"
#include "common/utf8.h"

static void assert_valid_utf8_line(const char *s)
{
	size_t left = strlen(s);
	const unsigned char *p = (const unsigned char *)s;

	while (left > 0) {
		size_t k = utf8_seq_len(p, left);

		if (k == 0 || *p < 0x20) {
			fail_msg("byte 0x%02x at %zu of \"%s\"", *p,
				 (size_t)(p - (const unsigned char *)s), s);
		}
		p += k;
		left -= k;
	}
}

static void test_diag_keeps_the_first_error_and_formats_its_place(void **state)
{
	struct diag d;
	char buf[DIAG_FILE_MAX + DIAG_MSG_MAX];

	(void)state;
	diag_clear(&d);
	assert_string_equal(diag_format(&d, buf, sizeof(buf)), "no error");
	diag_set(&d, "routes.conf", 42, "flow \"%s\": unknown member \"%s\"", "video", "drone9");
	diag_set(&d, "other.conf", 1, "later");
	assert_string_equal(diag_format(&d, buf, sizeof(buf)),
			    "routes.conf:42: flow \"video\": unknown member \"drone9\"");
	diag_clear(&d);
	diag_set(&d, "c.ini", 0, "file too large");
	assert_string_equal(diag_format(&d, buf, sizeof(buf)), "c.ini: file too large");
	diag_set(NULL, "x", 1, "ignored");
}

static void test_diag_escapes_bytes_that_are_not_utf8(void **state)
{
	struct diag d;
	char buf[DIAG_FILE_MAX + DIAG_MSG_MAX];

	(void)state;
	diag_clear(&d);
	diag_set(&d, "routes.conf", 7, "flow \"%s\": bad port", "mav\xfflink");
	assert_string_equal(d.msg, "flow \"mav\\xFFlink\": bad port");
	assert_string_equal(diag_format(&d, buf, sizeof(buf)),
			    "routes.conf:7: flow \"mav\\xFFlink\": bad port");
	assert_valid_utf8_line(buf);
}

static void test_diag_keeps_valid_utf8_and_escapes_control_characters(void **state)
{
	struct diag d;

	(void)state;
	diag_clear(&d);
	diag_set(&d, "r\xe9.conf", 1, "name \"%s\"", "caf\xc3\xa9\nline2\t\x1b[31m");
	assert_string_equal(d.msg, "name \"caf\xc3\xa9\\x0Aline2\\x09\\x1B[31m\"");
	assert_string_equal(d.file, "r\\xE9.conf");
	assert_valid_utf8_line(d.msg);
}

static void test_diag_cut_message_is_still_valid_utf8(void **state)
{
	char value[DIAG_MSG_MAX * 2];
	struct diag d;

	(void)state;
	/* Two-byte characters, and invalid bytes, past the end of the buffer:
	 * vsnprintf cuts inside one, and the escapes must not be cut. */
	for (size_t i = 0; i + 1 < sizeof(value); i += 2) {
		value[i] = (char)(i % 6 == 0 ? 0xff : 0xc3);
		value[i + 1] = (char)(i % 6 == 0 ? 0xfe : 0xa9);
	}
	value[sizeof(value) - 1] = '\0';
	for (size_t shift = 0; shift < 8; shift++) {
		diag_clear(&d);
		diag_set(&d, "f", 1, "%.*s%s", (int)shift, "xxxxxxxx", value);
		assert_true(strlen(d.msg) < sizeof(d.msg));
		assert_valid_utf8_line(d.msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diag_keeps_the_first_error_and_formats_its_place),
		cmocka_unit_test(test_diag_escapes_bytes_that_are_not_utf8),
		cmocka_unit_test(test_diag_keeps_valid_utf8_and_escapes_control_characters),
		cmocka_unit_test(test_diag_cut_message_is_still_valid_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
