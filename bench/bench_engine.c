/* bench_engine.c: local engine speed on the embedded model (not a test; run from the Release
 * build): prefill and decode tokens/s at 1 and 2 threads, decode at 4096 tokens of context, and
 * batched same-prompt sampling throughput for N = 1, 4, 16, with ratios against the llama.cpp
 * figures of issue 6 measured on this machine (AVX2, 2 threads): 490 t/s prefill (512 tokens),
 * 200 t/s decode (128 tokens), 48 t/s decode at 4096 tokens of context.
 *
 * Every figure is the median of --repeat runs (default 3): the machine is shared, and one run can
 * lose a core to another process.
 *
 * usage: bench_engine [MODEL] [--quick] [--f32] [--repeat R]   (MODEL: the embedded SmolLM2) */
#include "amlab/alloc.h"
#include "amlab/clock.h"
#include "amlab/cpu.h"
#include "amlab/engine.h"
#include "amlab/rng.h"
#include "amlab/str.h"

#define LLAMA_PREFILL   490.0
#define LLAMA_DECODE    200.0
#define LLAMA_DECODE_4K 48.0

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of the last measured section (the machine is shared: wall time includes waiting
 * for a core, CPU time does not). */
static double last_cpu;

#define MAX_REPEAT 15
static int repeat = 3;

/* A measurement repeated: its median rate, and the CPU seconds of that run. */
struct median {
	double rate, cpu;
};

static struct median median_of(double *rate, double *cpu, int n)
{
	int idx[MAX_REPEAT];
	for (int i = 0; i < n; i++)
		idx[i] = i;
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && rate[idx[k]] < rate[idx[k - 1]]; k--) {
			int t = idx[k];
			idx[k] = idx[k - 1];
			idx[k - 1] = t;
		}
	struct median m = {rate[idx[n / 2]], cpu[idx[n / 2]]};
	return m;
}

static int32_t argmax(const float *x, size_t n)
{
	size_t b = 0;
	for (size_t i = 1; i < n; i++)
		if (x[i] > x[b])
			b = i;
	return (int32_t)b;
}

static void die(const struct am_err *err)
{
	char msg[1024];
	am_err_format(err, msg, sizeof(msg));
	fprintf(stderr, "bench_engine: %s\n", msg);
	exit(1);
}

struct bench {
	struct am_llm *m;
	struct am_llm_ctx c;
	int32_t *prompt;
	size_t n_prompt;
	float *logits;
	size_t V;
};

/* Prefill n tokens into a fresh sequence at context ctx0 (already filled in base). */
static double run_prefill(struct bench *b, size_t n)
{
	struct am_err err = {0};
	struct am_llm_seq s;
	am_llm_seq_init(&s, b->m);
	double t0 = now_s(), c0 = cpu_s();
	if (am_llm_eval(b->m, &b->c, &s, b->prompt, n, false, b->logits, &err) < 0)
		die(&err);
	double dt = now_s() - t0;
	last_cpu = cpu_s() - c0;
	am_llm_seq_free(&s);
	return (double)n / dt;
}

/* Decode n tokens greedily after a context of ctx tokens. */
static double run_decode(struct bench *b, size_t ctx, size_t n)
{
	struct am_err err = {0};
	struct am_llm_seq s;
	am_llm_seq_init(&s, b->m);
	if (ctx && am_llm_eval(b->m, &b->c, &s, b->prompt, ctx, false, b->logits, &err) < 0)
		die(&err);
	int32_t tok = ctx ? argmax(b->logits, b->V) : 1;
	double t0 = now_s(), c0 = cpu_s();
	for (size_t i = 0; i < n; i++) {
		if (am_llm_eval(b->m, &b->c, &s, &tok, 1, false, b->logits, &err) < 0)
			die(&err);
		tok = argmax(b->logits, b->V);
	}
	double dt = now_s() - t0;
	last_cpu = cpu_s() - c0;
	am_llm_seq_free(&s);
	return (double)n / dt;
}

/* N samples of n tokens each from one prompt of p tokens: prompt prefilled once and shared
 * (am_llm_seq_fork), then all N decoded as one batch per step. Returns generated tokens/s (prefill
 * included). */
static double run_batched(struct bench *b, int N, size_t p, size_t n)
{
	struct am_err err = {0};
	struct am_llm_seq *seqs = am_calloc((size_t)N, sizeof(*seqs));
	struct am_llm_seq **sp = am_calloc((size_t)N, sizeof(*sp));
	float *lg = am_calloc((size_t)N * b->V, sizeof(float));
	int32_t *tok = am_calloc((size_t)N, sizeof(int32_t));
	long *pos = am_calloc((size_t)N, sizeof(long));
	int *seq = am_calloc((size_t)N, sizeof(int));
	bool *want = am_calloc((size_t)N, sizeof(bool));
	if (!seqs || !sp || !lg || !tok || !pos || !seq || !want) {
		fprintf(stderr, "bench_engine: out of memory\n");
		exit(1);
	}
	double t0 = now_s();
	for (int i = 0; i < N; i++) {
		am_llm_seq_init(&seqs[i], b->m);
		sp[i] = &seqs[i];
	}
	if (am_llm_eval(b->m, &b->c, &seqs[0], b->prompt, p, false, lg, &err) < 0)
		die(&err);
	struct am_rng rng;
	am_rng_seed(&rng, 42);
	for (int i = 0; i < N; i++) {
		if (i && am_llm_seq_fork(&seqs[i], &seqs[0], (long)p, &err) < 0)
			die(&err);
		/* distinct first tokens so the samples diverge like sampled ones would */
		tok[i] = (int32_t)am_rng_below(&rng, b->V);
	}
	for (size_t step = 0; step < n; step++) {
		for (int i = 0; i < N; i++) {
			pos[i] = seqs[i].n_pos;
			seq[i] = i;
			want[i] = true;
		}
		struct am_llm_batch bt = {
		    .n = (size_t)N, .tokens = tok, .pos = pos, .seq = seq, .want = want};
		if (am_llm_forward(b->m, &b->c, sp, &bt, lg, &err) < 0)
			die(&err);
		for (int i = 0; i < N; i++)
			tok[i] = argmax(lg + (size_t)i * b->V, b->V);
	}
	double dt = now_s() - t0;
	for (int i = 0; i < N; i++)
		am_llm_seq_free(&seqs[i]);
	am_free(seqs);
	am_free(sp);
	am_free(lg);
	am_free(tok);
	am_free(pos);
	am_free(seq);
	am_free(want);
	return (double)N * (double)n / dt;
}

/* One kind of run, with its sizes: prefill(n), decode(ctx, n) or batched(N, p, n). */
enum run_kind { RUN_PREFILL, RUN_DECODE, RUN_BATCHED };

/* The median over `repeat` runs of one kind. */
static struct median measure(struct bench *b, enum run_kind kind, size_t x, size_t y, size_t z)
{
	double rate[MAX_REPEAT], cpu[MAX_REPEAT];
	for (int i = 0; i < repeat; i++) {
		last_cpu = 0;
		rate[i] = kind == RUN_PREFILL  ? run_prefill(b, x)
		          : kind == RUN_DECODE ? run_decode(b, x, y)
		                               : run_batched(b, (int)x, y, z);
		cpu[i] = last_cpu;
	}
	return median_of(rate, cpu, repeat);
}

int main(int argc, char **argv)
{
	const char *path = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
	bool quick = false, f32 = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--f32") == 0)
			f32 = true;
		else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
			long r;
			if (am_parse_long(argv[++i], &r, "--repeat", NULL) < 0 || r < 1 ||
			    r > MAX_REPEAT) {
				fprintf(stderr, "bench_engine: --repeat takes 1..%d\n", MAX_REPEAT);
				return 2;
			}
			repeat = (int)r;
		} else
			path = argv[i];
	}
	struct am_err err = {0};
	struct bench b = {0};
	if (am_llm_load(path, &b.m, &err) < 0)
		die(&err);
	b.V = (size_t)am_llm_hparams(b.m)->n_vocab;
	b.n_prompt = 4096;
	b.prompt = am_calloc(b.n_prompt, sizeof(int32_t));
	b.logits = am_calloc(b.V, sizeof(float));
	struct am_rng rng;
	am_rng_seed(&rng, 7);
	for (size_t i = 0; i < b.n_prompt; i++)
		b.prompt[i] = (int32_t)am_rng_below(&rng, b.V);
	printf("model: %s\ncpu: %s%s\nmedian of %d runs each\n", path, am_cpu_features_string(),
	       f32 ? " (f32 activations)" : "", repeat);
	printf("llama.cpp reference (issue 6, this machine, 2 threads): prefill@512 %.0f t/s, "
	       "decode %.0f t/s, decode@4096 %.0f t/s\n",
	       LLAMA_PREFILL, LLAMA_DECODE, LLAMA_DECODE_4K);
	for (int threads = 1; threads <= 2; threads++) {
		if (am_llm_ctx_init(&b.c, threads, &err) < 0)
			die(&err);
		b.c.k.f32_activations = f32;
		struct median pm = measure(&b, RUN_PREFILL, 512, 0, 0);
		double pf = pm.rate, pf_cpu = 512 / pm.cpu;
		size_t nd = quick ? 32 : 128;
		struct median dm = measure(&b, RUN_DECODE, 0, nd, 0);
		double dc = dm.rate, dc_cpu = (double)nd / dm.cpu;
		printf("threads %d: prefill@512 %7.1f t/s (x%.2f)  decode@0 %7.1f t/s (x%.2f)   "
		       "[per CPU-second: prefill %.1f, decode %.1f]\n",
		       threads, pf, pf / LLAMA_PREFILL, dc, dc / LLAMA_DECODE, pf_cpu, dc_cpu);
		fflush(stdout);
		if (!quick) {
			double d4 = measure(&b, RUN_DECODE, 4096, 32, 0).rate;
			printf("threads %d: decode@4096 %7.1f t/s (x%.2f)\n", threads, d4,
			       d4 / LLAMA_DECODE_4K);
		}
		if (threads == 2) {
			double base = 0;
			int ns[3] = {1, 4, 16};
			for (int k = 0; k < 3; k++) {
				double r =
				    measure(&b, RUN_BATCHED, (size_t)ns[k], 128, quick ? 16 : 64)
				        .rate;
				if (k == 0)
					base = r;
				printf("threads 2: batched N=%-2d %7.1f generated t/s (x%.2f vs "
				       "N=1)\n",
				       ns[k], r, r / base);
				fflush(stdout);
			}
		}
		am_llm_ctx_free(&b.c);
	}
	am_free(b.prompt);
	am_free(b.logits);
	am_llm_free(b.m);
	return 0;
}
