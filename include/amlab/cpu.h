/* cpu.h: CPU features detected at run time (kernels pick their implementation from these). */
#ifndef AMLAB_CPU_H
#define AMLAB_CPU_H

struct am_cpu_features {
	bool avx2;
	bool fma;
	bool f16c;
	bool avx512f;
	bool avx512bw;
	bool avx512vl;
	bool avx512vnni;
};

/* Detected once. For tests, AMLAB_CPU in the environment narrows what is used: "generic" forces
 * the scalar paths, "avx2" the AVX2 ones on a CPU that also has AVX-512. */
const struct am_cpu_features *am_cpu_features(void);
/* "avx2 fma f16c" style list of what is detected and used, or "generic". */
const char *am_cpu_features_string(void);

#endif
