/* test_utf8: UTF-8 validation and \xHH escaping (common/utf8.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/utf8.h"

static size_t seq_len(const char *s)
{
	return utf8_seq_len((const unsigned char *)s, strlen(s));
}

static void test_utf8_seq_len_takes_each_length_at_its_edges(void **state)
{
	(void)state;
	assert_int_equal(seq_len("a"), 1);
	assert_int_equal(seq_len("\x7f"), 1);
	assert_int_equal(seq_len("\xc2\x80"), 2);	  /* U+0080 */
	assert_int_equal(seq_len("\xdf\xbf"), 2);	  /* U+07FF */
	assert_int_equal(seq_len("\xe0\xa0\x80"), 3);	  /* U+0800 */
	assert_int_equal(seq_len("\xed\x9f\xbf"), 3);	  /* U+D7FF */
	assert_int_equal(seq_len("\xee\x80\x80"), 3);	  /* U+E000 */
	assert_int_equal(seq_len("\xf0\x90\x80\x80"), 4); /* U+10000 */
	assert_int_equal(seq_len("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF */
}

static void test_utf8_seq_len_refuses_what_rfc_3629_forbids(void **state)
{
	(void)state;
	assert_int_equal(seq_len("\xff"), 0);
	assert_int_equal(seq_len("\x80"), 0);		  /* a lone continuation byte */
	assert_int_equal(seq_len("\xc0\xaf"), 0);	  /* overlong '/' */
	assert_int_equal(seq_len("\xe0\x80\xaf"), 0);	  /* overlong */
	assert_int_equal(seq_len("\xed\xa0\x80"), 0);	  /* surrogate U+D800 */
	assert_int_equal(seq_len("\xf4\x90\x80\x80"), 0); /* above U+10FFFF */
	assert_int_equal(seq_len("\xc3"), 0);		  /* cut short */
	assert_int_equal(seq_len("\xe2\x82"), 0);
	assert_int_equal(seq_len("\xc3x"), 0);
}

static void test_utf8_escape_keeps_text_and_escapes_raw_bytes(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(utf8_escape(out, sizeof(out), "plain \"text\" \xc3\xa9\xe2\x82\xac"), 18);
	assert_string_equal(out, "plain \"text\" \xc3\xa9\xe2\x82\xac");
	utf8_escape(out, sizeof(out), "mav\xfflink");
	assert_string_equal(out, "mav\\xFFlink");
	utf8_escape(out, sizeof(out), "a\nb\tc\x7f\x1b");
	assert_string_equal(out, "a\\x0Ab\\x09c\\x7F\\x1B");
	utf8_escape(out, sizeof(out), "cut \xe2\x82");
	assert_string_equal(out, "cut \\xE2\\x82");
}

static void test_utf8_escape_cuts_only_between_items(void **state)
{
	char out[8];

	(void)state;
	/* 7 characters fit: "ab" and one escape, not half of the next. */
	assert_int_equal(utf8_escape(out, sizeof(out), "ab\xff\xff"), 6);
	assert_string_equal(out, "ab\\xFF");
	assert_int_equal(utf8_escape(out, sizeof(out), "abcde\xe2\x82\xac"), 5);
	assert_string_equal(out, "abcde");
	assert_int_equal(utf8_escape(out, 1, "abc"), 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_seq_len_takes_each_length_at_its_edges),
		cmocka_unit_test(test_utf8_seq_len_refuses_what_rfc_3629_forbids),
		cmocka_unit_test(test_utf8_escape_keeps_text_and_escapes_raw_bytes),
		cmocka_unit_test(test_utf8_escape_cuts_only_between_items),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
