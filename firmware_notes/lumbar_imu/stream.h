/*
 * Sample buffering of the firmware, kept apart from the Arduino code so that the host
 * test can run it: a ring buffer of timestamped samples that drops the oldest when full
 * and counts it, detects samples the firmware missed, tracks the sensor's real rate, and
 * cuts the buffer into packets that never span a gap (README.md, sections 3 and 5).
 *
 * Plain C99, no heap: one ltp_stream_t (about 5 KB) lives in static memory.
 */
#ifndef LTP_STREAM_H
#define LTP_STREAM_H

#include <stdint.h>

#include "packet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 256 samples = 2.5 s at 104 Hz. */
#define LTP_RING_SIZE 256u

typedef struct {
    uint32_t t_us;      /* device time the sample was read */
    uint8_t gap_before; /* samples were missed just before this one */
    ltp_sample_t sample;
} ltp_timed_sample_t;

typedef struct {
    ltp_timed_sample_t ring[LTP_RING_SIZE];
    uint16_t head;     /* index of the oldest sample */
    uint16_t count;    /* samples buffered */
    uint32_t dropped;  /* samples lost since the last reset: overflow + missed reads */
    float period_us;   /* measured sample period, smoothed */
    uint32_t last_us;  /* read time of the previous sample */
    uint8_t have_last;
} ltp_stream_t;

/* Empties the buffer, zeroes the drop count, starts rate tracking at the nominal period. */
void ltp_stream_reset(ltp_stream_t *stream, float nominal_period_us);

/* Adds a sample read at t_us. A read interval over 1.5 periods counts the samples the
 * sensor produced meanwhile as dropped and marks a gap; a full buffer drops its oldest
 * sample and counts it. */
void ltp_stream_push(ltp_stream_t *stream, uint32_t t_us, const ltp_sample_t *sample);

/* The measured sample rate in quarter-hertz (1..2047). */
uint16_t ltp_stream_rate_qhz(const ltp_stream_t *stream);

/* Takes the next packet's samples out of the buffer: `batch` consecutive samples, or
 * fewer when a gap follows them. Fills count, samples, t0_us and rate_qhz of *packet
 * (the caller sets seq and the range codes) and returns 1; returns 0 and leaves the
 * buffer alone while fewer than `batch` consecutive samples are waiting. */
int ltp_stream_take_packet(ltp_stream_t *stream, uint8_t batch, ltp_packet_t *packet);

#ifdef __cplusplus
}
#endif

#endif /* LTP_STREAM_H */
