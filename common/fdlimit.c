/* fdlimit: see fdlimit.h. */
#include "fdlimit.h"

#include <errno.h>
#include <sys/resource.h>

unsigned long fdlimit_current(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return 0;
	}
	return rl.rlim_cur == RLIM_INFINITY ? (unsigned long)-1 : (unsigned long)rl.rlim_cur;
}

unsigned long fdlimit_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl); /* the old limit stays if refused */
	}
	return fdlimit_current();
}

bool fdlimit_is_exhausted(int err)
{
	if (err < 0) {
		err = -err;
	}
	return err == EMFILE || err == ENFILE;
}
