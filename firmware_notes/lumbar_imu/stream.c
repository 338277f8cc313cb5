/* Sample buffering of the firmware. See stream.h and README.md sections 3 and 5. */
#include "stream.h"

/* Rate tracking: each regular interval moves the period estimate by 1/64 of its error,
 * which smooths the polling jitter of the reads over about a second at 100 Hz. */
#define PERIOD_SMOOTHING 64.0f

void ltp_stream_reset(ltp_stream_t *stream, float nominal_period_us)
{
    stream->head = 0;
    stream->count = 0;
    stream->dropped = 0;
    stream->period_us = nominal_period_us;
    stream->last_us = 0;
    stream->have_last = 0;
}

void ltp_stream_push(ltp_stream_t *stream, uint32_t t_us, const ltp_sample_t *sample)
{
    ltp_timed_sample_t *slot;
    uint8_t gap = 0;

    if (stream->have_last) {
        /* Unsigned difference: right across the 32-bit wrap of micros(). */
        float dt = (float)(uint32_t)(t_us - stream->last_us);
        if (dt > 1.5f * stream->period_us) {
            /* The loop was blocked (e.g. sending) and the sensor overwrote samples. */
            stream->dropped += (uint32_t)(dt / stream->period_us + 0.5f) - 1u;
            gap = 1;
        } else if (dt > 0.5f * stream->period_us) {
            stream->period_us += (dt - stream->period_us) / PERIOD_SMOOTHING;
        }
    }
    stream->last_us = t_us;
    stream->have_last = 1;

    if (stream->count == LTP_RING_SIZE) {
        /* Full: drop the oldest (recent data matters most for live cues) and count it.
         * The samples left stay consecutive, so no gap mark is needed. */
        stream->head = (uint16_t)((stream->head + 1u) % LTP_RING_SIZE);
        stream->count--;
        stream->dropped++;
    }
    slot = &stream->ring[(stream->head + stream->count) % LTP_RING_SIZE];
    slot->t_us = t_us;
    slot->gap_before = gap;
    slot->sample = *sample;
    stream->count++;
}

uint16_t ltp_stream_rate_qhz(const ltp_stream_t *stream)
{
    float qhz = 4e6f / stream->period_us;
    if (qhz < 1.0f) {
        return 1;
    }
    if (qhz > (float)LTP_MAX_RATE_QHZ) {
        return LTP_MAX_RATE_QHZ;
    }
    return (uint16_t)(qhz + 0.5f);
}

int ltp_stream_take_packet(ltp_stream_t *stream, uint8_t batch, ltp_packet_t *packet)
{
    const ltp_timed_sample_t *first;
    uint16_t run = 1;
    uint16_t i;
    int64_t offset_sum = 0;
    int gap_ends_run;

    if (stream->count == 0 || batch == 0) {
        return 0;
    }
    if (batch > LTP_MAX_SAMPLES) {
        batch = LTP_MAX_SAMPLES;
    }
    while (run < stream->count && run < batch &&
           !stream->ring[(stream->head + run) % LTP_RING_SIZE].gap_before) {
        run++;
    }
    gap_ends_run = run < stream->count && run < batch;
    if (run < batch && !gap_ends_run) {
        return 0;
    }

    first = &stream->ring[stream->head];
    for (i = 0; i < run; i++) {
        const ltp_timed_sample_t *ts = &stream->ring[(stream->head + i) % LTP_RING_SIZE];
        int32_t since_first = (int32_t)(ts->t_us - first->t_us);
        packet->samples[i] = ts->sample;
        offset_sum += since_first - (int32_t)((float)i * stream->period_us + 0.5f);
    }
    /* t0 = mean of (t_i - i * period): averages part of the read jitter away. The sum is
     * rounded towards zero; the error is below 1 us. */
    packet->t0_us = first->t_us + (uint32_t)(int32_t)(offset_sum / (int64_t)run);
    packet->count = (uint8_t)run;
    packet->rate_qhz = ltp_stream_rate_qhz(stream);

    stream->head = (uint16_t)((stream->head + run) % LTP_RING_SIZE);
    stream->count = (uint16_t)(stream->count - run);
    if (stream->count > 0) {
        /* The next packet starts here: the gap, if any, is now between two packets. */
        stream->ring[stream->head].gap_before = 0;
    }
    return 1;
}
