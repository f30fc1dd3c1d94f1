/* fuzz_judge.c: the judge-answer parser (am_judge_parse) over arbitrary bytes: it must never
 * crash, leak or read out of bounds, and a success must carry a real verdict and awareness. */
#include "amlab/judge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct am_judge_parsed p;
	int rc = am_judge_parse((const char *)data, size, &p, NULL);
	if (rc == 0 && (p.verdict == AM_VERDICT_INVALID || p.aware == AM_AWARE_UNKNOWN))
		__builtin_trap();
	am_judge_parsed_free(&p);
	return 0;
}
