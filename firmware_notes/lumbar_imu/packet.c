/* Lumbar IMU BLE profile v1: data packet encoder/decoder. See packet.h and README.md. */
#include "packet.h"

/* Byte 0: version in bits 7..5, gyro range code in bits 4..2, acc range code in 1..0.
 * Bytes 6-7 (u16): sample count in bits 15..11, rate in quarter-hertz in bits 10..0. */
#define VERSION_SHIFT 5u
#define GYRO_SHIFT 2u
#define COUNT_SHIFT 11u
#define RATE_MASK 0x07FFu

/* Samples per notification are capped at 100 ms of data: rate_qhz / 40 = rate_hz / 10. */
#define QHZ_PER_SAMPLE_AT_100MS 40u

void ltp_put_u16(uint8_t *out, uint16_t value)
{
    out[0] = (uint8_t)(value & 0xFFu);
    out[1] = (uint8_t)(value >> 8);
}

void ltp_put_u32(uint8_t *out, uint32_t value)
{
    out[0] = (uint8_t)(value & 0xFFu);
    out[1] = (uint8_t)((value >> 8) & 0xFFu);
    out[2] = (uint8_t)((value >> 16) & 0xFFu);
    out[3] = (uint8_t)(value >> 24);
}

uint16_t ltp_get_u16(const uint8_t *in)
{
    return (uint16_t)(in[0] | ((uint16_t)in[1] << 8));
}

uint32_t ltp_get_u32(const uint8_t *in)
{
    return (uint32_t)in[0] | ((uint32_t)in[1] << 8) | ((uint32_t)in[2] << 16) |
           ((uint32_t)in[3] << 24);
}

/* int16 <-> two's-complement bytes without relying on implementation-defined casts. */
static void put_i16(uint8_t *out, int16_t value)
{
    int32_t v = value;
    ltp_put_u16(out, (uint16_t)(v < 0 ? v + 65536 : v));
}

static int16_t get_i16(const uint8_t *in)
{
    int32_t v = ltp_get_u16(in);
    return (int16_t)(v >= 32768 ? v - 65536 : v);
}

size_t ltp_packet_size(uint8_t count)
{
    return LTP_HEADER_SIZE + (size_t)count * LTP_SAMPLE_SIZE;
}

uint8_t ltp_max_samples_for_payload(size_t max_payload)
{
    size_t n;
    if (max_payload < LTP_HEADER_SIZE + LTP_SAMPLE_SIZE) {
        return 0;
    }
    n = (max_payload - LTP_HEADER_SIZE) / LTP_SAMPLE_SIZE;
    return (uint8_t)(n > LTP_MAX_SAMPLES ? LTP_MAX_SAMPLES : n);
}

uint8_t ltp_samples_per_notification(size_t max_payload, uint16_t rate_qhz)
{
    uint8_t fit = ltp_max_samples_for_payload(max_payload);
    unsigned latency_cap = rate_qhz / QHZ_PER_SAMPLE_AT_100MS;
    if (latency_cap < 1u) {
        latency_cap = 1u;
    }
    return (uint8_t)(latency_cap < fit ? latency_cap : fit);
}

const char *ltp_result_name(ltp_result_t result)
{
    switch (result) {
    case LTP_OK:
        return "ok";
    case LTP_ERR_TRUNCATED:
        return "truncated";
    case LTP_ERR_VERSION:
        return "version";
    case LTP_ERR_RANGE:
        return "range";
    case LTP_ERR_RATE:
        return "rate";
    case LTP_ERR_COUNT:
        return "count";
    case LTP_ERR_OVERSIZED:
        return "oversized";
    case LTP_ERR_BUFFER:
        return "buffer";
    }
    return "unknown";
}

ltp_result_t ltp_encode(const ltp_packet_t *packet, uint8_t *out, size_t out_size,
                        size_t *out_len)
{
    size_t size;
    size_t i;
    uint8_t *p;
    int axis;

    if (packet->acc_code >= LTP_ACC_CODE_COUNT || packet->gyro_code >= LTP_GYRO_CODE_COUNT) {
        return LTP_ERR_RANGE;
    }
    if (packet->rate_qhz == 0u || packet->rate_qhz > LTP_MAX_RATE_QHZ) {
        return LTP_ERR_RATE;
    }
    if (packet->count == 0u || packet->count > LTP_MAX_SAMPLES) {
        return LTP_ERR_COUNT;
    }
    size = ltp_packet_size(packet->count);
    if (size > out_size) {
        return LTP_ERR_BUFFER;
    }

    out[0] = (uint8_t)((LTP_PROTOCOL_VERSION << VERSION_SHIFT) |
                       ((unsigned)packet->gyro_code << GYRO_SHIFT) | packet->acc_code);
    out[1] = packet->seq;
    ltp_put_u32(out + 2, packet->t0_us);
    ltp_put_u16(out + 6,
                (uint16_t)(((unsigned)packet->count << COUNT_SHIFT) | packet->rate_qhz));
    p = out + LTP_HEADER_SIZE;
    for (i = 0; i < packet->count; i++) {
        for (axis = 0; axis < 3; axis++) {
            put_i16(p + 2 * axis, packet->samples[i].acc[axis]);
            put_i16(p + 6 + 2 * axis, packet->samples[i].gyro[axis]);
        }
        p += LTP_SAMPLE_SIZE;
    }
    *out_len = size;
    return LTP_OK;
}

ltp_result_t ltp_decode(const uint8_t *payload, size_t len, ltp_packet_t *packet)
{
    uint16_t rate_count;
    size_t size;
    size_t i;
    const uint8_t *p;
    int axis;

    if (len < LTP_HEADER_SIZE) {
        return LTP_ERR_TRUNCATED;
    }
    if ((unsigned)(payload[0] >> VERSION_SHIFT) != LTP_PROTOCOL_VERSION) {
        return LTP_ERR_VERSION;
    }
    packet->acc_code = (uint8_t)(payload[0] & 0x03u);
    packet->gyro_code = (uint8_t)((payload[0] >> GYRO_SHIFT) & 0x07u);
    if (packet->gyro_code >= LTP_GYRO_CODE_COUNT) {
        return LTP_ERR_RANGE;
    }
    packet->seq = payload[1];
    packet->t0_us = ltp_get_u32(payload + 2);
    rate_count = ltp_get_u16(payload + 6);
    packet->rate_qhz = (uint16_t)(rate_count & RATE_MASK);
    packet->count = (uint8_t)(rate_count >> COUNT_SHIFT);
    if (packet->rate_qhz == 0u) {
        return LTP_ERR_RATE;
    }
    if (packet->count == 0u) {
        return LTP_ERR_COUNT;
    }
    size = ltp_packet_size(packet->count);
    if (len < size) {
        return LTP_ERR_TRUNCATED;
    }
    if (len > size) {
        return LTP_ERR_OVERSIZED;
    }
    p = payload + LTP_HEADER_SIZE;
    for (i = 0; i < packet->count; i++) {
        for (axis = 0; axis < 3; axis++) {
            packet->samples[i].acc[axis] = get_i16(p + 2 * axis);
            packet->samples[i].gyro[axis] = get_i16(p + 6 + 2 * axis);
        }
        p += LTP_SAMPLE_SIZE;
    }
    return LTP_OK;
}
