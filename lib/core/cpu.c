/* cpu.c: run-time CPU feature detection (see include/amlab/cpu.h). */
#include "amlab/cpu.h"

#include <pthread.h>

static struct am_cpu_features features;
static char features_string[96];
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* CPUID bits, and XGETBV so a feature counts only when the OS saves its registers. */
static void detect_x86(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return;
	bool osxsave = c & (1u << 27), avx = c & (1u << 28);
	if (!osxsave || !avx)
		return;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	(void)hi;
	if ((lo & 6) != 6) /* XMM and YMM state */
		return;
	features.fma = c & (1u << 12);
	features.f16c = c & (1u << 29);
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		features.avx2 = b & (1u << 5);
		/* opmask, ZMM_Hi256 and Hi16_ZMM state saved by the OS */
		bool zmm = (lo & 0xE6) == 0xE6;
		features.avx512f = zmm && (b & (1u << 16));
		features.avx512bw = zmm && (b & (1u << 30));
		features.avx512vl = zmm && (b & (1u << 31));
		features.avx512vnni = zmm && (c & (1u << 11));
	}
}
#endif

static void detect(void)
{
	const char *force = getenv("AMLAB_CPU");
	bool generic = force && strcmp(force, "generic") == 0;
#if defined(__x86_64__) || defined(__i386__)
	if (!generic)
		detect_x86();
	if (force && strcmp(force, "avx2") == 0) /* tests: the AVX2 paths on an AVX-512 CPU */
		features.avx512f = features.avx512bw = features.avx512vl = features.avx512vnni =
		    false;
#else
	(void)generic;
#endif
	features_string[0] = '\0';
	size_t n = 0;
	const struct {
		bool on;
		const char *name;
	} list[] = {{features.avx2, "avx2"},
	            {features.fma, "fma"},
	            {features.f16c, "f16c"},
	            {features.avx512f, "avx512f"},
	            {features.avx512bw, "avx512bw"},
	            {features.avx512vl, "avx512vl"},
	            {features.avx512vnni, "avx512_vnni"}};
	for (size_t i = 0; i < AM_ARRAY_LEN(list); i++) {
		if (!list[i].on)
			continue;
		int w = snprintf(features_string + n, sizeof(features_string) - n, "%s%s",
		                 n ? " " : "", list[i].name);
		if (w > 0)
			n += (size_t)w;
	}
	if (n == 0)
		snprintf(features_string, sizeof(features_string), "generic");
}

const struct am_cpu_features *am_cpu_features(void)
{
	pthread_once(&detect_once, detect);
	return &features;
}

const char *am_cpu_features_string(void)
{
	pthread_once(&detect_once, detect);
	return features_string;
}
