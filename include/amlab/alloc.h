/* alloc.h: all heap allocation in amlab goes through these wrappers.
 *
 * They behave like their libc namesakes (am_free(NULL) is a no-op; memory from any of them is
 * released with am_free). They exist so tests can inject allocation failures: after
 * am_alloc_fail_after(n), the (n+1)-th allocation from now returns NULL (and so does every later
 * one while `sticky` is set). jansson is routed through them too (am_json_init). */
#ifndef AMLAB_ALLOC_H
#define AMLAB_ALLOC_H

void *am_malloc(size_t size);
void *am_calloc(size_t n, size_t size);
void *am_realloc(void *p, size_t size);
/* calloc-like array allocation with overflow check of n*size. */
void *am_reallocarray(void *p, size_t n, size_t size);
char *am_strdup(const char *s);
char *am_strndup(const char *s, size_t n);
void *am_memdup(const void *p, size_t n);
void am_free(void *p);

/* Fault injection (tests only). n < 0 disables. Not thread-safe by design: tests that use it
 * run single-threaded. */
void am_alloc_fail_after(long n, bool sticky);
/* Number of allocations performed since the last am_alloc_fail_after() call. */
long am_alloc_count(void);
/* True if an injected failure has fired since the last am_alloc_fail_after() call. */
bool am_alloc_failed(void);
/* Allocations that returned NULL in this thread so far (injected or real). Code that calls a
 * library which cannot report out-of-memory distinctly (jansson's parser) compares this before
 * and after the call, so an allocation failure is never reported as bad input. */
unsigned long am_alloc_failures(void);

#endif
