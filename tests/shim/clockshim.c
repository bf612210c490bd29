/* clockshim: an LD_PRELOAD library for lab tests that bends a daemon's
 * clocks the way a drone or a laptop sees them (tools/suspend.sh,
 * tests/lab/test_twin.sh). Only clock_gettime(2) through libc is bent.
 *   CLOCKSHIM_MONO_FREEZE=1   CLOCK_MONOTONIC stands still while the process
 *                             is stopped (a jump of more than 3 s between two
 *                             reads is taken out), as across a suspend of the
 *                             machine; CLOCK_BOOTTIME goes on.
 *   CLOCKSHIM_REALTIME=S      CLOCK_REALTIME starts at S seconds since 1970
 *                             (0: 1970-01-01, a machine without a real-time
 *                             clock before NTP) and runs from there.
 * Not part of the product. */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

typedef int clock_gettime_fn(clockid_t, struct timespec *);

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static void set_ns(struct timespec *ts, int64_t ns)
{
	ts->tv_sec = (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
}

static clock_gettime_fn *real_fn(void)
{
	static clock_gettime_fn *real;

	if (!real) {
		*(void **)&real = dlsym(RTLD_NEXT, "clock_gettime");
	}
	return real;
}

/* CLOCK_MONOTONIC with the stops taken out. */
static void freeze_mono(struct timespec *ts)
{
	static int64_t offset_ns, last_ns;
	int64_t ns = ns_of(ts);
	int64_t last = __atomic_exchange_n(&last_ns, ns, __ATOMIC_RELAXED);

	if (last != 0 && ns - last > 3000000000LL) {
		__atomic_add_fetch(&offset_ns, ns - last - 1000000, __ATOMIC_RELAXED);
	}
	set_ns(ts, ns - __atomic_load_n(&offset_ns, __ATOMIC_RELAXED));
}

/* CLOCK_REALTIME from CLOCKSHIM_REALTIME on, at the monotonic clock's pace. */
static void shift_realtime(struct timespec *ts, int64_t start_s)
{
	static int64_t base_mono_ns = -1;
	struct timespec mono;

	if (real_fn()(CLOCK_MONOTONIC, &mono) != 0) {
		return;
	}
	if (__atomic_load_n(&base_mono_ns, __ATOMIC_RELAXED) < 0) {
		int64_t none = -1;

		(void)__atomic_compare_exchange_n(&base_mono_ns, &none, ns_of(&mono), false,
						  __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
	set_ns(ts, start_s * 1000000000 + ns_of(&mono) - base_mono_ns);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	const char *freeze = getenv("CLOCKSHIM_MONO_FREEZE");
	const char *realtime = getenv("CLOCKSHIM_REALTIME");
	int rc = real_fn()(id, ts);

	if (rc != 0) {
		return rc;
	}
	if (id == CLOCK_MONOTONIC && freeze && freeze[0] == '1') {
		freeze_mono(ts);
	} else if (id == CLOCK_REALTIME && realtime && realtime[0]) {
		shift_realtime(ts, strtoll(realtime, NULL, 10));
	}
	return 0;
}
