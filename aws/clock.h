/*
 * clock: the two clocks cfdr uses. Durations and schedules use the monotonic clock (never
 * jumps); what people read (reports, the state journal) is UTC wall-clock time in ISO-8601.
 * Pure apart from reading the clocks; nothing allocated.
 */
#ifndef CFDR_CLOCK_H
#define CFDR_CLOCK_H

/* Seconds on the monotonic clock (arbitrary origin). */
double clock_mono_s(void);
/* Seconds since the UNIX epoch, wall clock. */
double clock_wall_s(void);
/* "2026-11-25T15:17:03.123Z" for a wall-clock time in seconds; out holds at least 32 bytes. */
void clock_iso(double wall_s, char out[32]);
void clock_iso_now(char out[32]);
/* Sleeps, resuming after signals, for s seconds (s <= 0: returns at once). */
void clock_sleep_s(double s);

#endif
