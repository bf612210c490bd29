/* test_nat64: nat/nat64 — the RFC 6052 §2.4 examples (192.0.2.33 embedded in
 * a prefix of each length, and back), RFC 7050 prefix discovery from a
 * synthesized ipv4only.arpa record (192.0.0.170 and .171, each length; the
 * u octet must be zero; an address that embeds neither is no prefix). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nat/nat64.h"

struct example {
	const char *prefix;
	unsigned len;
	const char *embedded;
};

/* RFC 6052 §2.4, for 192.0.2.33. */
static const struct example rfc6052[] = {
	{"2001:db8::", 32, "2001:db8:c000:221::"},
	{"2001:db8:100::", 40, "2001:db8:1c0:2:21::"},
	{"2001:db8:122::", 48, "2001:db8:122:c000:2:2100::"},
	{"2001:db8:122:300::", 56, "2001:db8:122:3c0:0:221::"},
	{"2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100:0"},
	{"2001:db8:122:344::", 96, "2001:db8:122:344::192.0.2.33"},
	{"64:ff9b::", 96, "64:ff9b::192.0.2.33"},
};

static struct in6_addr a6(const char *text)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, text, &a), 1);
	return a;
}

static struct in_addr a4(const char *text)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, text, &a), 1);
	return a;
}

static void test_nat64_embeds_and_extracts_the_rfc6052_examples(void **state)
{
	struct in_addr v4 = a4("192.0.2.33"), back;

	(void)state;
	for (size_t i = 0; i < sizeof(rfc6052) / sizeof(rfc6052[0]); i++) {
		struct nat64_prefix p = {.prefix = a6(rfc6052[i].prefix),
					 .len = (uint8_t)rfc6052[i].len};
		struct in6_addr want = a6(rfc6052[i].embedded), got;

		assert_true(nat64_len_ok(p.len));
		nat64_embed(&p, &v4, &got);
		assert_memory_equal(&got, &want, sizeof(got));
		nat64_extract(&want, p.len, &back);
		assert_int_equal(back.s_addr, v4.s_addr);
	}
	assert_false(nat64_len_ok(0));
	assert_false(nat64_len_ok(80));
	assert_false(nat64_len_ok(128));
}

static void test_nat64_finds_the_prefix_of_a_synthesized_wka(void **state)
{
	static const char *const wkas[] = {"192.0.0.170", "192.0.0.171"};
	char text[INET6_ADDRSTRLEN + 8];

	(void)state;
	for (size_t w = 0; w < 2; w++) {
		struct in_addr wka = a4(wkas[w]);

		for (size_t i = 0; i < sizeof(rfc6052) / sizeof(rfc6052[0]); i++) {
			struct nat64_prefix p = {.prefix = a6(rfc6052[i].prefix),
						 .len = (uint8_t)rfc6052[i].len};
			struct nat64_prefix found;
			struct in6_addr synth;

			nat64_embed(&p, &wka, &synth);
			assert_true(nat64_prefix_of_wka(&synth, &found));
			assert_int_equal(found.len, p.len);
			assert_memory_equal(&found.prefix, &p.prefix, sizeof(p.prefix));
		}
	}
	/* The lab's network-specific prefix, as the hosts file gives it. */
	{
		struct in6_addr synth = a6("2001:db8:ffff::c000:aa");
		struct nat64_prefix found;

		assert_true(nat64_prefix_of_wka(&synth, &found));
		assert_string_equal(nat64_prefix_format(&found, text, sizeof(text)),
				    "2001:db8:ffff::/96");
	}
	/* Not a synthesized record: a real address, or the WKA with a non-zero
	 * u octet at a length that has one. */
	{
		struct in6_addr real = a6("2001:db8::10"), bad_u = a6("2001:db8:c000:aa:100::");
		struct nat64_prefix found;

		assert_false(nat64_prefix_of_wka(&real, &found));
		assert_int_equal(found.len, 0);
		assert_false(nat64_prefix_of_wka(&bad_u, &found));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nat64_embeds_and_extracts_the_rfc6052_examples),
		cmocka_unit_test(test_nat64_finds_the_prefix_of_a_synthesized_wka),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
