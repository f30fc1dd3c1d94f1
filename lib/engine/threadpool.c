/* threadpool.c: see amlab/threadpool.h.
 *
 * A job is published as one 64-bit word, (generation << 32) | next chunk. Threads claim chunks
 * by compare-and-swap on that word, so a thread that wakes up late can never claim a chunk of a
 * job other than the one whose fn/ctx it reads: the generation in the word it swapped proves
 * which job it is. The caller claims chunks too, then waits only for chunks already claimed.
 * Between jobs the word holds a closed generation (see am_threadpool_run). */
#include "amlab/threadpool.h"

#include "amlab/alloc.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define SPIN_ITERS 4000
#define CLOSED     0xFFFFFFFFu /* the chunk index of a job being set up: nothing to claim */

struct am_threadpool {
	int n_threads;
	pthread_t *threads;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	_Atomic uint64_t work; /* generation << 32 | next chunk */
	atomic_size_t done;    /* chunks finished in the current job */
	atomic_bool stop;
	/* the current job: written before `work` is published (release) */
	am_threadpool_fn fn;
	void *ctx;
	size_t n_chunks;
};

struct worker_arg {
	struct am_threadpool *pool;
	int ith;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Claim and run chunks of generation gen until none is left. */
/* Claim and run chunks of generation gen until none is left; then count them done, once (the
 * counter's cache line moves between cores once per thread and job, not once per chunk). */
static void work_on(struct am_threadpool *pool, uint32_t gen, int ith)
{
	size_t ran = 0;
	for (;;) {
		uint64_t w = atomic_load_explicit(&pool->work, memory_order_acquire);
		if ((uint32_t)(w >> 32) != gen)
			break;
		size_t idx = (size_t)(uint32_t)w;
		if (idx >= pool->n_chunks)
			break;
		if (!atomic_compare_exchange_weak_explicit(
		        &pool->work, &w, w + 1, memory_order_acq_rel, memory_order_acquire))
			continue;
		pool->fn(pool->ctx, idx, ith);
		ran++;
	}
	if (ran)
		atomic_fetch_add_explicit(&pool->done, ran, memory_order_release);
}

static void *worker_main(void *p)
{
	struct worker_arg *wa = p;
	struct am_threadpool *pool = wa->pool;
	int ith = wa->ith;
	am_free(wa);
	uint32_t seen = 0;
	for (;;) {
		uint32_t g;
		int spins = 0;
		while ((g = (uint32_t)(atomic_load_explicit(&pool->work, memory_order_acquire) >>
		                       32)) == seen &&
		       spins < SPIN_ITERS) {
			cpu_relax();
			spins++;
		}
		if (g == seen) {
			pthread_mutex_lock(&pool->mu);
			while ((g = (uint32_t)(atomic_load(&pool->work) >> 32)) == seen &&
			       !atomic_load(&pool->stop))
				pthread_cond_wait(&pool->wake, &pool->mu);
			pthread_mutex_unlock(&pool->mu);
		}
		if (atomic_load(&pool->stop))
			break;
		seen = g;
		work_on(pool, g, ith);
	}
	return NULL;
}

int am_threadpool_new(int n_threads, struct am_threadpool **out, struct am_err *err)
{
	*out = NULL;
	if (n_threads < 1 || n_threads > 256)
		return am_err_set(err, AM_EINVAL, "thread count %d is out of range 1..256",
		                  n_threads);
	struct am_threadpool *pool = am_calloc(1, sizeof(*pool));
	if (!pool)
		return am_err_set(err, AM_ENOMEM, "out of memory creating a thread pool");
	pool->n_threads = 1;
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->wake, NULL);
	atomic_init(&pool->work, 0);
	atomic_init(&pool->done, 0);
	atomic_init(&pool->stop, false);
	if (n_threads > 1) {
		pool->threads = am_calloc((size_t)n_threads - 1, sizeof(pthread_t));
		if (!pool->threads) {
			am_threadpool_free(pool);
			return am_err_set(err, AM_ENOMEM, "out of memory creating a thread pool");
		}
	}
	for (int i = 1; i < n_threads; i++) {
		struct worker_arg *wa = am_malloc(sizeof(*wa));
		if (!wa) {
			am_threadpool_free(pool);
			return am_err_set(err, AM_ENOMEM, "out of memory creating a thread pool");
		}
		wa->pool = pool;
		wa->ith = i;
		int rc = pthread_create(&pool->threads[i - 1], NULL, worker_main, wa);
		if (rc != 0) {
			am_free(wa);
			am_threadpool_free(pool);
			return am_err_set(err, AM_EIO, "cannot start a worker thread: %s",
			                  strerror(rc));
		}
		pool->n_threads = i + 1;
	}
	*out = pool;
	return 0;
}

void am_threadpool_free(struct am_threadpool *pool)
{
	if (!pool)
		return;
	if (pool->n_threads > 1) {
		pthread_mutex_lock(&pool->mu);
		atomic_store(&pool->stop, true);
		pthread_cond_broadcast(&pool->wake);
		pthread_mutex_unlock(&pool->mu);
		for (int i = 1; i < pool->n_threads; i++)
			pthread_join(pool->threads[i - 1], NULL);
	}
	am_free(pool->threads);
	pthread_mutex_destroy(&pool->mu);
	pthread_cond_destroy(&pool->wake);
	am_free(pool);
}

int am_threadpool_size(const struct am_threadpool *pool)
{
	return pool ? pool->n_threads : 1;
}

void am_threadpool_run(struct am_threadpool *pool, am_threadpool_fn fn, void *ctx, size_t n_chunks)
{
	if (!pool || pool->n_threads == 1 || n_chunks <= 1 || n_chunks >= CLOSED) {
		for (size_t i = 0; i < n_chunks; i++)
			fn(ctx, i, 0);
		return;
	}
	/* Close the last job before touching the job fields: a worker that read the last job's
	 * word and is about to check it against n_chunks could otherwise see this job's larger
	 * n_chunks, claim a chunk past the last job's end and count it in this job's `done`.
	 * With the word closed its claim fails, and a worker seeing the closed generation finds
	 * no chunk in it. */
	uint32_t gen = (uint32_t)(atomic_load(&pool->work) >> 32) + 1;
	atomic_exchange_explicit(&pool->work, (uint64_t)gen << 32 | CLOSED, memory_order_acq_rel);
	pool->fn = fn;
	pool->ctx = ctx;
	pool->n_chunks = n_chunks;
	atomic_store_explicit(&pool->done, 0, memory_order_relaxed);
	gen++;
	pthread_mutex_lock(&pool->mu);
	atomic_store_explicit(&pool->work, (uint64_t)gen << 32, memory_order_release);
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->mu);
	work_on(pool, gen, 0);
	/* only chunks already claimed by running workers remain */
	int spins = 0;
	while (atomic_load_explicit(&pool->done, memory_order_acquire) < n_chunks) {
		if (++spins < SPIN_ITERS)
			cpu_relax();
		else
			sched_yield();
	}
}
