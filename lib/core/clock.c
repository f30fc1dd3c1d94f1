/* clock.c: system or fake clock (see include/amlab/clock.h). */
#include "amlab/clock.h"

#include <stdatomic.h>

static atomic_bool fake_on;
/* Wall time kept in nanoseconds so many sub-millisecond advances add up as they do in mono. */
static _Atomic int64_t fake_wall_ns;
static _Atomic int64_t fake_mono_ns;

int64_t am_clock_wall_ms(void)
{
	if (atomic_load(&fake_on))
		return atomic_load(&fake_wall_ns) / 1000000;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t am_clock_mono_ns(void)
{
	if (atomic_load(&fake_on))
		return atomic_load(&fake_mono_ns);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void am_clock_sleep_ns(int64_t ns)
{
	if (ns <= 0)
		return;
	if (atomic_load(&fake_on)) {
		am_clock_advance_ns(ns);
		return;
	}
	struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void am_clock_set_fake(int64_t wall_ms, int64_t mono_ns)
{
	atomic_store(&fake_wall_ns, wall_ms * 1000000);
	atomic_store(&fake_mono_ns, mono_ns);
	atomic_store(&fake_on, true);
}

void am_clock_advance_ns(int64_t ns)
{
	atomic_fetch_add(&fake_mono_ns, ns);
	atomic_fetch_add(&fake_wall_ns, ns);
}

void am_clock_set_system(void)
{
	atomic_store(&fake_on, false);
}
