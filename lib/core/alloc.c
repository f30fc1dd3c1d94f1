/* alloc.c: allocation wrappers with test-only fault injection (see include/amlab/alloc.h). */
#include "amlab/alloc.h"

static long fail_after = -1; /* allocations left before the injected failure; <0: off */
static bool fail_sticky;
static bool fail_fired;
static long alloc_count;
static _Thread_local unsigned long failures_in_thread;

void am_alloc_fail_after(long n, bool sticky)
{
	fail_after = n;
	fail_sticky = sticky;
	fail_fired = false;
	alloc_count = 0;
}

long am_alloc_count(void)
{
	return alloc_count;
}

bool am_alloc_failed(void)
{
	return fail_fired;
}

unsigned long am_alloc_failures(void)
{
	return failures_in_thread;
}

static void *counted(void *p)
{
	if (!p)
		failures_in_thread++;
	return p;
}

/* True when this allocation must fail. */
static bool inject_failure(void)
{
	alloc_count++;
	if (fail_after < 0)
		return false;
	if (fail_fired)
		return fail_sticky;
	if (fail_after == 0) {
		fail_fired = true;
		return true;
	}
	fail_after--;
	return false;
}

void *am_malloc(size_t size)
{
	if (inject_failure())
		return counted(NULL);
	return counted(malloc(size ? size : 1));
}

void *am_calloc(size_t n, size_t size)
{
	if (inject_failure())
		return counted(NULL);
	if (n == 0 || size == 0)
		n = size = 1;
	return counted(calloc(n, size));
}

void *am_realloc(void *p, size_t size)
{
	if (inject_failure())
		return counted(NULL);
	return counted(realloc(p, size ? size : 1));
}

void *am_reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return counted(NULL);
	}
	return am_realloc(p, n * size);
}

void *am_memdup(const void *p, size_t n)
{
	void *q = am_malloc(n);
	if (q && n)
		memcpy(q, p, n);
	return q;
}

char *am_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *q = am_malloc(len + 1);
	if (!q)
		return NULL;
	memcpy(q, s, len);
	q[len] = '\0';
	return q;
}

char *am_strdup(const char *s)
{
	return am_memdup(s, strlen(s) + 1);
}

void am_free(void *p)
{
	free(p);
}
