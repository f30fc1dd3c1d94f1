/* clock.h: the injectable clock. Library code that needs the time asks am_clock_*();
 * tests install a fake with am_clock_set_fake() and move it with am_clock_advance_ns(). */
#ifndef AMLAB_CLOCK_H
#define AMLAB_CLOCK_H

/* Wall time, milliseconds since the Unix epoch. */
int64_t am_clock_wall_ms(void);
/* Monotonic time in nanoseconds (arbitrary origin). */
int64_t am_clock_mono_ns(void);
/* Sleep for ns nanoseconds (with a fake clock: advance it instead). */
void am_clock_sleep_ns(int64_t ns);

/* Switch to a fake clock that starts at the given times and moves only when told. */
void am_clock_set_fake(int64_t wall_ms, int64_t mono_ns);
void am_clock_advance_ns(int64_t ns);
/* Back to the system clock. */
void am_clock_set_system(void);

#endif
