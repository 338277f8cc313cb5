/*
 * Lumbar IMU BLE profile, version 1: data notification encoder/decoder and the
 * constants of the control characteristic.
 *
 * The specification is firmware_notes/README.md; this header is its C mirror and
 * tracker/devices/tracker_imu.py is its Python mirror. The shared test vectors
 * (firmware_notes/vectors.txt) keep the two byte-identical.
 *
 * Plain C99, no heap, no I/O: the same files build into the Arduino sketch (this
 * folder) and into the host test program (firmware_notes/host_check.c).
 */
#ifndef LTP_PACKET_H
#define LTP_PACKET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- data notification ------------------------------------------------- */

#define LTP_PROTOCOL_VERSION 1u
/* 8 bytes, so that one sample still fits the 20-byte payload of ATT MTU 23. */
#define LTP_HEADER_SIZE 8u
/* ax, ay, az, gx, gy, gz as int16 little-endian. */
#define LTP_SAMPLE_SIZE 12u
/* The count field has 5 bits. */
#define LTP_MAX_SAMPLES 31u
#define LTP_MAX_PACKET_SIZE (LTP_HEADER_SIZE + LTP_MAX_SAMPLES * LTP_SAMPLE_SIZE)
/* The sample rate travels in quarter-hertz in 11 bits: 0.25 .. 511.75 Hz. */
#define LTP_RATE_UNITS_PER_HZ 4u
#define LTP_MAX_RATE_QHZ 2047u
/* Acceleration range codes 0..3 = +-2, 4, 8, 16 g (2 bits, all valid). */
#define LTP_ACC_CODE_COUNT 4u
/* Gyroscope range codes 0..4 = +-125, 250, 500, 1000, 2000 dps; 5..7 reserved. */
#define LTP_GYRO_CODE_COUNT 5u
/* Smallest notification payload (ATT MTU 23 - 3) and the one of ATT MTU 247. */
#define LTP_MIN_PAYLOAD 20u
#define LTP_PAYLOAD_MTU247 244u

typedef struct {
    int16_t acc[3];  /* counts; g = count * range_g / 32768 */
    int16_t gyro[3]; /* counts; dps = count * range_dps / 32768 */
} ltp_sample_t;

typedef struct {
    uint8_t seq;       /* notification counter, +1 per notification, wraps */
    uint32_t t0_us;    /* device time of samples[0], microseconds, wraps */
    uint16_t rate_qhz; /* sample rate in quarter-hertz, 1..2047 */
    uint8_t acc_code;  /* 0..3 */
    uint8_t gyro_code; /* 0..4 */
    uint8_t count;     /* samples in this packet, 1..31 */
    ltp_sample_t samples[LTP_MAX_SAMPLES];
} ltp_packet_t;

/* Results. Decoding checks in this order, and reports the first fault found. */
typedef enum {
    LTP_OK = 0,
    LTP_ERR_TRUNCATED = 1, /* shorter than the header or than count samples */
    LTP_ERR_VERSION = 2,   /* version bits are not LTP_PROTOCOL_VERSION */
    LTP_ERR_RANGE = 3,     /* reserved range code */
    LTP_ERR_RATE = 4,      /* sample rate 0 (or above 2047 when encoding) */
    LTP_ERR_COUNT = 5,     /* sample count 0 (or above 31 when encoding) */
    LTP_ERR_OVERSIZED = 6, /* bytes after the last sample */
    LTP_ERR_BUFFER = 7     /* encoding: output buffer too small */
} ltp_result_t;

/* Writes the packet into out (at most out_size bytes); *out_len receives its size. */
ltp_result_t ltp_encode(const ltp_packet_t *packet, uint8_t *out, size_t out_size,
                        size_t *out_len);

/* Parses one notification payload of len bytes. */
ltp_result_t ltp_decode(const uint8_t *payload, size_t len, ltp_packet_t *packet);

/* Packet size for a number of samples. */
size_t ltp_packet_size(uint8_t count);

/* Most samples that fit a notification payload of max_payload bytes (ATT MTU - 3);
 * 0 when not even one fits. */
uint8_t ltp_max_samples_for_payload(size_t max_payload);

/* Samples per notification the firmware uses: as many as fit the payload, but no
 * more than 100 ms of data so that the host sees each sample soon (spec, "Batching"). */
uint8_t ltp_samples_per_notification(size_t max_payload, uint16_t rate_qhz);

/* Short lower-case name of a result ("ok", "truncated", ...), as in vectors.txt. */
const char *ltp_result_name(ltp_result_t result);

/* ---- control characteristic -------------------------------------------- */

#define LTP_OP_START 0x01u      /* u16 max_payload -> rate u16, acc, gyro, batch */
#define LTP_OP_STOP 0x02u       /* -> nothing */
#define LTP_OP_SET_RATE 0x03u   /* u16 rate_qhz -> u16 rate_qhz actually set */
#define LTP_OP_SET_RANGE 0x04u  /* u8 acc_code, u8 gyro_code -> the codes set */
#define LTP_OP_IDENTIFY 0x05u   /* u8 seconds (1..60) -> nothing */
#define LTP_OP_GET_STATUS 0x06u /* -> status block (10 bytes) */

#define LTP_RESPONSE 0xF0u /* F0 op status params... */
#define LTP_EVENT 0xE0u    /* E0 event params... (unsolicited) */

#define LTP_STATUS_OK 0x00u
#define LTP_STATUS_UNKNOWN_OPCODE 0x01u
#define LTP_STATUS_INVALID_LENGTH 0x02u
#define LTP_STATUS_INVALID_PARAMETER 0x03u
#define LTP_STATUS_INVALID_STATE 0x04u
#define LTP_STATUS_SENSOR_ERROR 0x05u

#define LTP_EVENT_OVERFLOW 0x01u       /* u32 dropped samples since START */
#define LTP_EVENT_STREAM_STOPPED 0x02u /* u8 reason */

#define LTP_STOP_REASON_LOW_BATTERY 0x01u
#define LTP_STOP_REASON_SENSOR_ERROR 0x02u

/* Little-endian helpers for the control messages. */
void ltp_put_u16(uint8_t *out, uint16_t value);
void ltp_put_u32(uint8_t *out, uint32_t value);
uint16_t ltp_get_u16(const uint8_t *in);
uint32_t ltp_get_u32(const uint8_t *in);

#ifdef __cplusplus
}
#endif

#endif /* LTP_PACKET_H */
