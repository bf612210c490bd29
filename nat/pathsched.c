/* pathsched: weights and smooth weighted round robin (see pathsched.h). */
#include "nat/pathsched.h"

int64_t pathsched_weight(double loss, uint32_t srtt_us)
{
	double keep = loss < 0 ? 1.0 : loss > 1 ? 0.0 : 1.0 - loss;
	int64_t w = (int64_t)(1e9 * keep / ((double)srtt_us + PATHSCHED_RTT_BIAS_US));

	return w < 1 ? 1 : w;
}

int pathsched_pick(int64_t credit[], const int64_t weight[], size_t n)
{
	int64_t total = 0;
	int best = -1;

	for (size_t i = 0; i < n; i++) {
		if (weight[i] <= 0) {
			continue;
		}
		credit[i] += weight[i];
		total += weight[i];
		if (best < 0 || credit[i] > credit[best]) {
			best = (int)i;
		}
	}
	if (best >= 0) {
		credit[best] -= total;
	}
	return best;
}
