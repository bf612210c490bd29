/* test_addr: "ip:port" parsing and formatting round trips (common/addr.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/addr.h"

static void roundtrip(const char *text, int family, socklen_t want_len)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char buf[ADDR_TEXT_MAX];

	assert_int_equal(addr_parse(text, &ss, &len), 0);
	assert_int_equal(ss.ss_family, family);
	assert_int_equal(len, want_len);
	assert_int_equal(addr_len(&ss), want_len);
	assert_string_equal(addr_format((struct sockaddr *)&ss, buf, sizeof(buf)), text);
}

static void test_addr_parses_and_formats_ipv4(void **state)
{
	(void)state;
	roundtrip("203.0.113.10:7400", AF_INET, sizeof(struct sockaddr_in));
	roundtrip("127.0.0.1:1", AF_INET, sizeof(struct sockaddr_in));
	roundtrip("0.0.0.0:65535", AF_INET, sizeof(struct sockaddr_in));
}

static void test_addr_parses_and_formats_bracketed_ipv6(void **state)
{
	(void)state;
	roundtrip("[::1]:7400", AF_INET6, sizeof(struct sockaddr_in6));
	roundtrip("[2001:db8::10]:443", AF_INET6, sizeof(struct sockaddr_in6));
}

static void test_addr_rejects_malformed_text(void **state)
{
	static const char *const bad[] = {
		"",
		"1.2.3.4",
		"1.2.3.4:",
		"1.2.3.4:0",
		"1.2.3.4:65536",
		"1.2.3.4:-1",
		"1.2.3.4:+80",
		"1.2.3.4:80x",
		"1.2.3.4: 80",
		" 1.2.3.4:80",
		"1.2.3:80",
		"1.2.3.256:80",
		"example.com:80",
		"::1:7400",
		"[::1]",
		"[::1]7400",
		"[1.2.3.4]:80",
		"[::1:7400",
		"1.2.3.4:007",
		"[]:80",
		"1.2.3.4:123456",
		"[::1]:0",
	};
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (addr_parse(bad[i], &ss, &len) != -EINVAL) {
			fail_msg("accepted \"%s\"", bad[i]);
		}
	}
	assert_int_equal(addr_parse(NULL, &ss, &len), -EINVAL);
}

static void test_addr_parse_ip_takes_bare_addresses_with_port_zero(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[ADDR_TEXT_MAX];

	(void)state;
	assert_int_equal(addr_parse_ip("10.20.0.2", &ss, &len), 0);
	assert_string_equal(addr_format((struct sockaddr *)&ss, buf, sizeof(buf)), "10.20.0.2:0");
	assert_int_equal(addr_parse_ip("2001:db8::2", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(addr_parse_ip("[2001:db8::2]", &ss, &len), 0);
	assert_int_equal(addr_parse_ip("10.20.0.2:80", &ss, &len), -EINVAL);
	assert_int_equal(addr_parse_ip("wwan0", &ss, &len), -EINVAL);
	assert_int_equal(addr_parse_ip("", &ss, &len), -EINVAL);
}

static void test_addr_parse_name_checks_host_name_syntax(void **state)
{
	char name[ADDR_NAME_MAX], long_label[80], long_name[300];
	uint16_t port = 0;
	static const char *const bad[] = {
		"example.com",
		"example.com:",
		"example.com:0",
		"example.com:65536",
		":7400",
		".:7400",
		"a..b:7400",
		".example.com:7400",
		"-a.example:7400",
		"a-.example:7400",
		"ex_ample.com:7400",
		"exa mple.com:7400",
		"203.0.113.10:7400",
		"203.0.113.999:7400",
		"1.2.3:7400",
		"example.com.:",
		"example.com..:7400",
		"[example.com]:7400",
		"a:b:7400",
		"ex\xc3\xa9.com:7400",
	};

	(void)state;
	assert_int_equal(addr_parse_name("wormhole.example.com:7400", name, sizeof(name), &port),
			 0);
	assert_string_equal(name, "wormhole.example.com");
	assert_int_equal(port, 7400);
	assert_int_equal(addr_parse_name("Relay-1.Example.COM.:65535", name, sizeof(name), &port),
			 0);
	assert_string_equal(name, "Relay-1.Example.COM");
	assert_int_equal(port, 65535);
	assert_int_equal(addr_parse_name("localhost:1", name, sizeof(name), &port), 0);
	assert_string_equal(name, "localhost");
	assert_int_equal(addr_parse_name("3com.example.net9:80", name, sizeof(name), &port), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(addr_parse_name(bad[i], name, sizeof(name), &port), -EINVAL);
		assert_string_equal(name, "");
	}
	/* Labels of 63 characters pass, 64 do not; 253 characters in all pass,
	 * 254 do not, and a buffer too small for the name is an error. */
	memset(long_label, 'a', 64);
	snprintf(long_label + 64, sizeof(long_label) - 64, ".example:7400");
	assert_int_equal(addr_parse_name(long_label, name, sizeof(name), &port), -EINVAL);
	assert_int_equal(addr_parse_name(long_label + 1, name, sizeof(name), &port), 0);
	memset(long_name, 0, sizeof(long_name));
	for (size_t i = 0; i < 253; i++) {
		long_name[i] = i % 50 == 49 ? '.' : 'b';
	}
	strcat(long_name, ":7400");
	assert_int_equal(addr_parse_name(long_name, name, sizeof(name), &port), 0);
	assert_int_equal(strlen(name), 253);
	assert_int_equal(addr_parse_name(long_name, name, 253, &port), -EINVAL);
	long_name[253] = 'b';
	strcpy(long_name + 254, ":7400");
	assert_int_equal(addr_parse_name(long_name, name, sizeof(name), &port), -EINVAL);
}

static void test_addr_equal_compares_family_ip_and_port(void **state)
{
	struct sockaddr_storage a, b, c, d;

	(void)state;
	assert_int_equal(addr_parse("192.0.2.1:7400", &a, NULL), 0);
	assert_int_equal(addr_parse("192.0.2.1:7400", &b, NULL), 0);
	assert_int_equal(addr_parse("192.0.2.1:7401", &c, NULL), 0);
	assert_int_equal(addr_parse("[::ffff:192.0.2.1]:7400", &d, NULL), 0);
	assert_true(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	assert_false(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&c));
	/* IPv4-mapped is IPv4 (every socket is of one family). */
	assert_int_equal(d.ss_family, AF_INET);
	assert_true(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&d));
	assert_int_equal(addr_parse("[::ffff:192.0.2.2]:7400", &d, NULL), 0);
	assert_false(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&d));
	assert_false(addr_equal((struct sockaddr *)&a, NULL));
}

static void test_addr_port_helpers_read_and_set_the_port(void **state)
{
	struct sockaddr_storage ss;
	char buf[ADDR_TEXT_MAX];

	(void)state;
	assert_int_equal(addr_parse("[::1]:7400", &ss, NULL), 0);
	assert_int_equal(addr_port((struct sockaddr *)&ss), 7400);
	addr_set_port(&ss, 9);
	assert_string_equal(addr_format((struct sockaddr *)&ss, buf, sizeof(buf)), "[::1]:9");
}

static void test_addr_ip_bytes_copies_the_address_without_the_port(void **state)
{
	static const uint8_t v4[4] = {203, 0, 113, 10};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x02};
	struct sockaddr_storage ss;
	uint8_t out[16];

	(void)state;
	assert_int_equal(addr_parse("203.0.113.10:7400", &ss, NULL), 0);
	assert_int_equal(addr_ip_bytes((struct sockaddr *)&ss, out), 4);
	assert_memory_equal(out, v4, 4);
	assert_int_equal(addr_parse("[2001:db8::2]:7400", &ss, NULL), 0);
	assert_int_equal(addr_ip_bytes((struct sockaddr *)&ss, out), 16);
	assert_memory_equal(out, v6, 16);
	memset(&ss, 0, sizeof(ss));
	assert_int_equal(addr_ip_bytes((struct sockaddr *)&ss, out), 0);
	assert_int_equal(addr_ip_bytes(NULL, out), 0);
}

static void test_addr_format_never_overflows_a_small_buffer(void **state)
{
	struct sockaddr_storage ss;
	char small[8];
	struct sockaddr_storage unknown;

	(void)state;
	assert_int_equal(addr_parse("203.0.113.10:7400", &ss, NULL), 0);
	assert_string_equal(addr_format((struct sockaddr *)&ss, small, sizeof(small)), "?");
	memset(&unknown, 0, sizeof(unknown));
	assert_string_equal(addr_format((struct sockaddr *)&unknown, small, sizeof(small)), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parses_and_formats_ipv4),
		cmocka_unit_test(test_addr_parses_and_formats_bracketed_ipv6),
		cmocka_unit_test(test_addr_rejects_malformed_text),
		cmocka_unit_test(test_addr_parse_ip_takes_bare_addresses_with_port_zero),
		cmocka_unit_test(test_addr_parse_name_checks_host_name_syntax),
		cmocka_unit_test(test_addr_equal_compares_family_ip_and_port),
		cmocka_unit_test(test_addr_port_helpers_read_and_set_the_port),
		cmocka_unit_test(test_addr_ip_bytes_copies_the_address_without_the_port),
		cmocka_unit_test(test_addr_format_never_overflows_a_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
