/* Helpers shared by the C tools of the benchmark harness (bench/c, one binary per .c file).
 *
 * Each tool defines TOOL_NAME before including this header; `die` prefixes its messages with it.
 * Everything here is `static`: each binary gets its own copy, and no build step links them. */
#ifndef CALLFEED_BENCH_COMMON_H
#define CALLFEED_BENCH_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef TOOL_NAME
#error "define TOOL_NAME before including common.h"
#endif

/* The sequence-number placeholder of the bench/bodies files: 12 characters, replaced by 12 digits,
 * so every request is a distinct call and its length does not change. */
#define PLACEHOLDER "@@SEQ@@@@@@@"
#define PLACEHOLDER_LEN 12
#define SEQ_MAX 999999999999ULL               /* 12 digits */
#define NS_PER_S 1000000000ULL

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static inline void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs(TOOL_NAME ": ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static inline uint64_t now_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) die("clock_gettime: %s", strerror(errno));
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static inline uint64_t parse_u64(const char *name, const char *s, uint64_t min, uint64_t max) {
    char *end;
    errno = 0;
    if (*s == '-') die("%s: invalid number '%s'", name, s);
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        die("%s: invalid number '%s' (must be %llu..%llu)", name, s, (unsigned long long)min,
            (unsigned long long)max);
    return (uint64_t)v;
}

/* The default first sequence number: the wall clock in milliseconds times 10,000, wrapping every
 * 10^8 ms (about 28 hours). A run starts past every number an earlier run has used so far, as long
 * as that run averaged fewer than 10,000 per millisecond, so runs one after the other never collide
 * (runs that overlap in time can, if the earlier one goes on long enough to catch up). */
static inline uint64_t default_seq_start(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) die("clock_gettime: %s", strerror(errno));
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    return (ms % 100000000ULL) * 10000ULL;
}

/* The whole file, malloc'd; its length in *len. */
static inline char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) die("cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL) die("out of memory");
    for (;;) {
        if (n == cap) {
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (grown == NULL) die("out of memory");
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) die("cannot read %s", path);
    fclose(f);
    *len = n;
    return buf;
}

/* Where the placeholder occurs (non-overlapping) in buf[from, len): a malloc'd array, count in *count. */
static inline size_t *find_placeholders(const char *buf, size_t from, size_t len, size_t *count) {
    size_t *offsets = NULL;
    *count = 0;
    for (size_t i = from; i + PLACEHOLDER_LEN <= len;) {
        if (memcmp(buf + i, PLACEHOLDER, PLACEHOLDER_LEN) == 0) {
            size_t *grown = realloc(offsets, (*count + 1) * sizeof *grown);
            if (grown == NULL) die("out of memory");
            offsets = grown;
            offsets[(*count)++] = i;
            i += PLACEHOLDER_LEN;
        } else {
            i++;
        }
    }
    return offsets;
}

/* seq as 12 zero-padded digits, into digits and at every offset of buf. */
static inline void stamp_seq_at(char *buf, const size_t *offsets, size_t count, uint64_t seq,
                                char digits[PLACEHOLDER_LEN]) {
    if (seq > SEQ_MAX) die("sequence number passed %llu; use a smaller --seq-start", SEQ_MAX);
    for (int i = PLACEHOLDER_LEN - 1; i >= 0; i--) {
        digits[i] = (char)('0' + seq % 10);
        seq /= 10;
    }
    for (size_t i = 0; i < count; i++) memcpy(buf + offsets[i], digits, PLACEHOLDER_LEN);
}

static inline int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile p (0-100) of sorted nanosecond latencies, in milliseconds. */
static inline double percentile_ms(const uint64_t *sorted, size_t len, double p) {
    if (len == 0) return 0;
    size_t rank = (size_t)((double)len * p / 100.0 + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > len) rank = len;
    return (double)sorted[rank - 1] / 1e6;
}

#endif
