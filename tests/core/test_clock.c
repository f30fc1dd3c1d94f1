/* test_clock.c: the injectable clock: the fake moves only when told, sleeping advances it. */
#include "amlab/clock.h"
#include "test.h"

static void test_fake_clock(void)
{
	am_clock_set_fake(1700000000000, 5);
	AM_CHECK(am_clock_wall_ms() == 1700000000000);
	AM_CHECK(am_clock_mono_ns() == 5);
	AM_CHECK(am_clock_mono_ns() == 5); /* does not move by itself */
	am_clock_advance_ns(2500000000);   /* 2.5 s */
	AM_CHECK(am_clock_mono_ns() == 2500000005);
	AM_CHECK(am_clock_wall_ms() == 1700000002500);
	am_clock_sleep_ns(1000000); /* a fake sleep returns at once and advances 1 ms */
	AM_CHECK(am_clock_mono_ns() == 2501000005);
	AM_CHECK(am_clock_wall_ms() == 1700000002501);
	am_clock_sleep_ns(0);
	am_clock_sleep_ns(-5); /* non-positive sleeps do nothing */
	AM_CHECK(am_clock_mono_ns() == 2501000005);
	/* Sub-millisecond steps add up in wall time as they do in monotonic time. */
	for (int i = 0; i < 10; i++)
		am_clock_advance_ns(300000); /* 10 x 0.3 ms = 3 ms */
	AM_CHECK(am_clock_mono_ns() == 2504000005);
	AM_CHECK(am_clock_wall_ms() == 1700000002504);
	/* An hour of fake sleep takes no real time. */
	am_clock_sleep_ns(3600LL * 1000000000);
	AM_CHECK(am_clock_wall_ms() == 1700003602504);
	am_clock_set_system();
}

static void test_system_clock(void)
{
	am_clock_set_system();
	/* Wall time agrees with time(2) to within a second or two. */
	int64_t wall = am_clock_wall_ms();
	int64_t now_s = (int64_t)time(NULL);
	AM_CHECK(wall / 1000 >= now_s - 2 && wall / 1000 <= now_s + 2);
	int64_t a = am_clock_mono_ns();
	am_clock_sleep_ns(2000000); /* 2 ms really sleeps */
	int64_t b = am_clock_mono_ns();
	AM_CHECK(b - a >= 2000000);
	AM_CHECK(b - a < 2000000000); /* and not absurdly long */
}

int main(void)
{
	AM_RUN(test_fake_clock);
	AM_RUN(test_system_clock);
	return am_test_result();
}
