/*
 * Host test program for the profile's C packet code (lumbar_imu/packet.c).
 *
 *   host_check VECTORS      check every vector in the file: encoding the fields of a
 *                           "valid" line gives its bytes, decoding the bytes gives its
 *                           fields, decoding an "invalid" line fails with its error
 *   host_check --encode     per stdin line "SEQ T0_US RATE_QHZ ACC GYRO COUNT S...":
 *                           print the packet in hex, or "error NAME"
 *   host_check --decode     per stdin line of hex ("-" = empty): print the fields in
 *                           the --encode format, or "error NAME"
 *   host_check --stream     drive the firmware's sample buffer (lumbar_imu/stream.c) with
 *                           stdin lines "reset PERIOD_US", "push T_US AX AY AZ GX GY GZ",
 *                           "take BATCH" (prints the packet's fields as --decode does, seq
 *                           and range codes 0, or "none") and "status" (prints "dropped D
 *                           buffered N rate_qhz Q")
 *
 * The last two modes let the Python tests compare both implementations on packets
 * they generate. Plain C99.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lumbar_imu/packet.h"
#include "lumbar_imu/stream.h"

#define LINE_MAX_CHARS 16384

static int parse_long(const char *token, long min, long max, long *out)
{
    char *end;
    long v;
    if (token == NULL) {
        return 0;
    }
    errno = 0;
    v = strtol(token, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return 0;
    }
    *out = v;
    return 1;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Parses hex ("-" for no bytes) into out; returns the byte count or -1. */
static long parse_hex(const char *token, uint8_t *out, size_t out_size)
{
    size_t n;
    size_t i;
    if (token == NULL) {
        return -1;
    }
    if (strcmp(token, "-") == 0) {
        return 0;
    }
    n = strlen(token);
    if (n % 2 != 0 || n / 2 > out_size) {
        return -1;
    }
    for (i = 0; i < n / 2; i++) {
        int hi = hex_value(token[2 * i]);
        int lo = hex_value(token[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (uint8_t)(hi * 16 + lo);
    }
    return (long)(n / 2);
}

static void print_hex(const uint8_t *bytes, size_t n)
{
    size_t i;
    if (n == 0) {
        fputs("-", stdout);
    }
    for (i = 0; i < n; i++) {
        printf("%02x", bytes[i]);
    }
}

static void print_fields(const ltp_packet_t *p)
{
    unsigned i;
    int axis;
    printf("%u %lu %u %u %u %u", (unsigned)p->seq, (unsigned long)p->t0_us,
           (unsigned)p->rate_qhz, (unsigned)p->acc_code, (unsigned)p->gyro_code,
           (unsigned)p->count);
    for (i = 0; i < p->count; i++) {
        for (axis = 0; axis < 3; axis++) {
            printf(" %d", (int)p->samples[i].acc[axis]);
        }
        for (axis = 0; axis < 3; axis++) {
            printf(" %d", (int)p->samples[i].gyro[axis]);
        }
    }
}

/* Reads "SEQ T0 RATE ACC GYRO COUNT samples..." starting at token first, then from
 * strtok's current line. Values are only range-checked to their C types: ltp_encode
 * judges the rest. */
static int parse_fields(char *first, ltp_packet_t *p)
{
    long v[6];
    const long max[6] = {255L, 4294967295L, 65535L, 255L, 255L, 255L};
    unsigned i;
    int k;
    for (k = 0; k < 6; k++) {
        if (!parse_long(k == 0 ? first : strtok(NULL, " \t\r\n"), 0, max[k], &v[k])) {
            return 0;
        }
    }
    p->seq = (uint8_t)v[0];
    p->t0_us = (uint32_t)v[1];
    p->rate_qhz = (uint16_t)v[2];
    p->acc_code = (uint8_t)v[3];
    p->gyro_code = (uint8_t)v[4];
    p->count = (uint8_t)v[5];
    if (p->count > LTP_MAX_SAMPLES) {
        return 1; /* ltp_encode reports it; the samples are not read */
    }
    for (i = 0; i < p->count; i++) {
        int16_t *dst[6];
        dst[0] = &p->samples[i].acc[0];
        dst[1] = &p->samples[i].acc[1];
        dst[2] = &p->samples[i].acc[2];
        dst[3] = &p->samples[i].gyro[0];
        dst[4] = &p->samples[i].gyro[1];
        dst[5] = &p->samples[i].gyro[2];
        for (k = 0; k < 6; k++) {
            long s;
            if (!parse_long(strtok(NULL, " \t\r\n"), -32768L, 32767L, &s)) {
                return 0;
            }
            *dst[k] = (int16_t)s;
        }
    }
    return 1;
}

static int same_packet(const ltp_packet_t *a, const ltp_packet_t *b)
{
    unsigned i;
    int axis;
    if (a->seq != b->seq || a->t0_us != b->t0_us || a->rate_qhz != b->rate_qhz ||
        a->acc_code != b->acc_code || a->gyro_code != b->gyro_code || a->count != b->count) {
        return 0;
    }
    for (i = 0; i < a->count; i++) {
        for (axis = 0; axis < 3; axis++) {
            if (a->samples[i].acc[axis] != b->samples[i].acc[axis] ||
                a->samples[i].gyro[axis] != b->samples[i].gyro[axis]) {
                return 0;
            }
        }
    }
    return 1;
}

static int check_file(const char *path)
{
    static char line[LINE_MAX_CHARS];
    FILE *f = fopen(path, "r");
    unsigned line_no = 0;
    unsigned checked = 0;
    unsigned failed = 0;

    if (f == NULL) {
        fprintf(stderr, "host_check: cannot open %s\n", path);
        return 2;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *kind;
        char *name;
        uint8_t expected[LTP_MAX_PACKET_SIZE + 64];
        uint8_t encoded[LTP_MAX_PACKET_SIZE];
        long n_expected;
        line_no++;
        kind = strtok(line, " \t\r\n");
        if (kind == NULL || kind[0] == '#') {
            continue;
        }
        name = strtok(NULL, " \t\r\n");
        if (name == NULL) {
            fprintf(stderr, "%s:%u: missing vector name\n", path, line_no);
            failed++;
            continue;
        }
        if (strcmp(kind, "valid") == 0) {
            ltp_packet_t fields;
            ltp_packet_t decoded;
            size_t n_encoded = 0;
            ltp_result_t r;
            memset(&fields, 0, sizeof fields);
            memset(&decoded, 0, sizeof decoded);
            if (!parse_fields(strtok(NULL, " \t\r\n"), &fields)) {
                fprintf(stderr, "%s:%u (%s): bad fields\n", path, line_no, name);
                failed++;
                continue;
            }
            n_expected = parse_hex(strtok(NULL, " \t\r\n"), expected, sizeof expected);
            if (n_expected < 0) {
                fprintf(stderr, "%s:%u (%s): bad hex\n", path, line_no, name);
                failed++;
                continue;
            }
            r = ltp_encode(&fields, encoded, sizeof encoded, &n_encoded);
            if (r != LTP_OK || n_encoded != (size_t)n_expected ||
                memcmp(encoded, expected, n_encoded) != 0) {
                fprintf(stderr, "%s:%u (%s): encode gave %s (%lu bytes)\n", path, line_no,
                        name, ltp_result_name(r), (unsigned long)n_encoded);
                failed++;
                continue;
            }
            r = ltp_decode(expected, (size_t)n_expected, &decoded);
            if (r != LTP_OK || !same_packet(&decoded, &fields)) {
                fprintf(stderr, "%s:%u (%s): decode gave %s\n", path, line_no, name,
                        ltp_result_name(r));
                failed++;
                continue;
            }
            checked++;
        } else if (strcmp(kind, "invalid") == 0) {
            ltp_packet_t decoded;
            const char *error = strtok(NULL, " \t\r\n");
            ltp_result_t r;
            n_expected = parse_hex(strtok(NULL, " \t\r\n"), expected, sizeof expected);
            if (error == NULL || n_expected < 0) {
                fprintf(stderr, "%s:%u (%s): bad invalid-vector line\n", path, line_no, name);
                failed++;
                continue;
            }
            r = ltp_decode(expected, (size_t)n_expected, &decoded);
            if (strcmp(ltp_result_name(r), error) != 0) {
                fprintf(stderr, "%s:%u (%s): decode gave %s, expected %s\n", path, line_no,
                        name, ltp_result_name(r), error);
                failed++;
                continue;
            }
            checked++;
        } else if (strcmp(kind, "batch") == 0) {
            /* "name" is the first number here: batch MAX_PAYLOAD RATE_QHZ SAMPLES */
            long payload, rate, expected_n;
            if (!parse_long(name, 0, 65535, &payload) ||
                !parse_long(strtok(NULL, " \t\r\n"), 0, 65535, &rate) ||
                !parse_long(strtok(NULL, " \t\r\n"), 0, 255, &expected_n)) {
                fprintf(stderr, "%s:%u: bad batch line\n", path, line_no);
                failed++;
                continue;
            }
            if (ltp_samples_per_notification((size_t)payload, (uint16_t)rate) != expected_n) {
                fprintf(stderr, "%s:%u: batch %ld %ld gave %u, expected %ld\n", path, line_no,
                        payload, rate,
                        (unsigned)ltp_samples_per_notification((size_t)payload, (uint16_t)rate),
                        expected_n);
                failed++;
                continue;
            }
            checked++;
        } else {
            fprintf(stderr, "%s:%u: unknown line kind %s\n", path, line_no, kind);
            failed++;
        }
    }
    fclose(f);
    if (failed != 0 || checked == 0) {
        printf("FAIL: %u of %u vectors failed\n", failed, failed + checked);
        return 1;
    }
    printf("ok: %u vectors\n", checked);
    return 0;
}

static int encode_stream(void)
{
    static char line[LINE_MAX_CHARS];
    while (fgets(line, sizeof line, stdin) != NULL) {
        ltp_packet_t fields;
        uint8_t out[LTP_MAX_PACKET_SIZE];
        size_t n = 0;
        ltp_result_t r;
        char *first = strtok(line, " \t\r\n");
        if (first == NULL) {
            continue;
        }
        memset(&fields, 0, sizeof fields);
        if (!parse_fields(first, &fields)) {
            puts("error input");
            continue;
        }
        r = ltp_encode(&fields, out, sizeof out, &n);
        if (r != LTP_OK) {
            printf("error %s\n", ltp_result_name(r));
            continue;
        }
        print_hex(out, n);
        printf("\n");
    }
    return 0;
}

static int decode_stream(void)
{
    static char line[LINE_MAX_CHARS];
    while (fgets(line, sizeof line, stdin) != NULL) {
        /* Room for more than the largest packet, so oversized input reaches ltp_decode. */
        static uint8_t bytes[LINE_MAX_CHARS / 2];
        ltp_packet_t decoded;
        ltp_result_t r;
        char *token = strtok(line, " \t\r\n");
        long n;
        if (token == NULL) {
            continue;
        }
        n = parse_hex(token, bytes, sizeof bytes);
        if (n < 0) {
            puts("error input");
            continue;
        }
        r = ltp_decode(bytes, (size_t)n, &decoded);
        if (r != LTP_OK) {
            printf("error %s\n", ltp_result_name(r));
            continue;
        }
        print_fields(&decoded);
        printf("\n");
    }
    return 0;
}

static int stream_script(void)
{
    static char line[LINE_MAX_CHARS];
    static ltp_stream_t stream;
    ltp_stream_reset(&stream, 10000.0f);
    while (fgets(line, sizeof line, stdin) != NULL) {
        char *cmd = strtok(line, " \t\r\n");
        if (cmd == NULL) {
            continue;
        }
        if (strcmp(cmd, "reset") == 0) {
            char *token = strtok(NULL, " \t\r\n");
            ltp_stream_reset(&stream, token ? strtof(token, NULL) : 0.0f);
        } else if (strcmp(cmd, "push") == 0) {
            long t_us;
            long v[6];
            ltp_sample_t sample;
            int k;
            int ok = parse_long(strtok(NULL, " \t\r\n"), 0, 4294967295L, &t_us);
            for (k = 0; k < 6 && ok; k++) {
                ok = parse_long(strtok(NULL, " \t\r\n"), -32768L, 32767L, &v[k]);
            }
            if (!ok) {
                puts("error input");
                continue;
            }
            for (k = 0; k < 3; k++) {
                sample.acc[k] = (int16_t)v[k];
                sample.gyro[k] = (int16_t)v[3 + k];
            }
            ltp_stream_push(&stream, (uint32_t)t_us, &sample);
        } else if (strcmp(cmd, "take") == 0) {
            long batch;
            ltp_packet_t packet;
            if (!parse_long(strtok(NULL, " \t\r\n"), 0, 255, &batch)) {
                puts("error input");
                continue;
            }
            memset(&packet, 0, sizeof packet);
            if (ltp_stream_take_packet(&stream, (uint8_t)batch, &packet)) {
                print_fields(&packet);
                printf("\n");
            } else {
                puts("none");
            }
        } else if (strcmp(cmd, "status") == 0) {
            printf("dropped %lu buffered %u rate_qhz %u\n", (unsigned long)stream.dropped,
                   (unsigned)stream.count, (unsigned)ltp_stream_rate_qhz(&stream));
        } else {
            puts("error input");
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--encode") == 0) {
        return encode_stream();
    }
    if (argc == 2 && strcmp(argv[1], "--decode") == 0) {
        return decode_stream();
    }
    if (argc == 2 && strcmp(argv[1], "--stream") == 0) {
        return stream_script();
    }
    if (argc == 2 && argv[1][0] != '-') {
        return check_file(argv[1]);
    }
    fprintf(stderr, "usage: host_check VECTORS | --encode | --decode | --stream\n");
    return 2;
}
