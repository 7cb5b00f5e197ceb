/* clock: see clock.h. */
#include "clock.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

double clock_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double clock_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void clock_iso(double wall_s, char out[32])
{
    time_t secs = (time_t)floor(wall_s);
    int ms = (int)((wall_s - (double)secs) * 1000.0);
    struct tm tm;
    size_t n;
    if (ms > 999)
        ms = 999;
    if (ms < 0)
        ms = 0;
    gmtime_r(&secs, &tm);
    n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0 || n > 26) {
        snprintf(out, 32, "invalid-time");
        return;
    }
    out[n] = '.';
    out[n + 1] = (char)('0' + ms / 100);
    out[n + 2] = (char)('0' + ms / 10 % 10);
    out[n + 3] = (char)('0' + ms % 10);
    out[n + 4] = 'Z';
    out[n + 5] = '\0';
}

void clock_iso_now(char out[32])
{
    clock_iso(clock_wall_s(), out);
}

void clock_sleep_s(double s)
{
    struct timespec ts;
    if (!(s > 0))
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
