/* threadpool.h: a fixed pool of worker threads for the engine's data-parallel kernels.
 *
 * am_threadpool_run(pool, fn, ctx, n_chunks) calls fn(ctx, chunk, thread) once for every chunk in
 * [0, n_chunks) and returns when all calls have returned. Chunks are claimed dynamically, the
 * caller's thread (thread 0) taking part, so a worker that the OS does not schedule (the machine
 * is shared) delays nothing beyond the chunk it holds. `thread` (0..size-1) indexes per-thread
 * scratch. Workers spin briefly for the next job (a token takes a few hundred jobs), then sleep.
 * One job at a time: the pool is driven by one thread.
 *
 * Ownership: am_threadpool_new() returns a pool freed (threads joined) by am_threadpool_free().
 * A NULL pool is valid everywhere and means "run on the caller's thread only". */
#ifndef AMLAB_THREADPOOL_H
#define AMLAB_THREADPOOL_H

#include "amlab/err.h"

struct am_threadpool;

typedef void (*am_threadpool_fn)(void *ctx, size_t chunk, int thread);

/* n_threads >= 1 (1: no worker threads are started). */
int am_threadpool_new(int n_threads, struct am_threadpool **out, struct am_err *err);
void am_threadpool_free(struct am_threadpool *pool);
int am_threadpool_size(const struct am_threadpool *pool);
void am_threadpool_run(struct am_threadpool *pool, am_threadpool_fn fn, void *ctx, size_t n_chunks);

#endif
