/*
 * lumbar_imu: reference firmware for the tracker IMU BLE profile, version 1.
 *
 * Specification: firmware_notes/README.md. Packets are built by packet.c (this folder),
 * the same code the host test checks against the shared vectors.
 *
 * Boards (chosen at compile time):
 *   Seeed XIAO nRF52840 Sense  (LSM6DS3TR-C, "Seeed Arduino LSM6DS3" library, mbed core)
 *   Arduino Nano 33 BLE Sense Rev2  (BMI270, "Arduino_BMI270_BMM150" library)
 * Both use ArduinoBLE.
 *
 * NOT COMPILED IN CI: there is no ARM toolchain or board here. See README.md section 8.
 *
 * Flow: loop() polls BLE, reads every new IMU sample with its micros() timestamp into the
 * buffer of stream.c (drops, gaps, measured rate; tested on the host), and sends packets
 * of consecutive samples as notifications. Control writes
 * are copied in the BLE callback and handled in loop(), so that no notification is sent
 * from inside the BLE stack's own callback.
 */
#include <ArduinoBLE.h>

#include "packet.h"
#include "stream.h"

#if defined(ARDUINO_SEEED_XIAO_NRF52840_SENSE) || defined(ARDUINO_Seeed_XIAO_nRF52840_Sense)
#define BOARD_XIAO_SENSE 1
#include <LSM6DS3.h>
#include <Wire.h>
static const char *MANUFACTURER = "Seeed";
static const char *MODEL = "XIAO nRF52840 Sense";
#elif defined(ARDUINO_ARDUINO_NANO33BLE)
#define BOARD_NANO33BLE 1
#include <Arduino_BMI270_BMM150.h>
static const char *MANUFACTURER = "Arduino";
static const char *MODEL = "Nano 33 BLE Sense Rev2";
#else
#error "Unsupported board: build for Seeeduino:mbed:xiaonRF52840Sense or arduino:mbed_nano:nano33ble"
#endif

static const char *FIRMWARE_REVISION = "lumbar_imu 1.0.0 profile 1";

/* ---- profile constants (README.md section 2) ---------------------------------- */

#define SERVICE_UUID "286a0001-1143-4c0a-9811-1adab226356d"
#define DATA_UUID "286a0002-1143-4c0a-9811-1adab226356d"
#define CONTROL_UUID "286a0003-1143-4c0a-9811-1adab226356d"

/* 7.5-15 ms connection interval, in units of 1.25 ms: lets MTU 23 carry ~100 Hz. */
#define CONN_INTERVAL_MIN 6
#define CONN_INTERVAL_MAX 12

/* Full scales per range code, as in packet.h. */
static const float ACC_RANGE_G[LTP_ACC_CODE_COUNT] = {2.0f, 4.0f, 8.0f, 16.0f};
static const float GYRO_RANGE_DPS[LTP_GYRO_CODE_COUNT] = {125.0f, 250.0f, 500.0f, 1000.0f,
                                                          2000.0f};

/* ---- BLE attributes ------------------------------------------------------------ */

BLEService imuService(SERVICE_UUID);
BLECharacteristic dataChar(DATA_UUID, BLENotify, LTP_MAX_PACKET_SIZE, false);
BLECharacteristic controlChar(CONTROL_UUID, BLEWrite | BLENotify, 16, false);
BLEService infoService("180A");
BLEStringCharacteristic manufacturerChar("2A29", BLERead, 24);
BLEStringCharacteristic modelChar("2A24", BLERead, 24);
BLEStringCharacteristic firmwareChar("2A26", BLERead, 32);

/* Battery: only the XIAO measures its cell (P0.31 through a 1M/510k divider). */
#if defined(BOARD_XIAO_SENSE) && defined(PIN_VBAT) && defined(VBAT_ENABLE)
#define HAS_BATTERY 1
BLEService batteryService("180F");
BLEUnsignedCharCharacteristic batteryChar("2A19", BLERead | BLENotify);
#endif

/* ---- IMU ------------------------------------------------------------------------ */

#if defined(BOARD_XIAO_SENSE)
LSM6DS3 imu(I2C_MODE, 0x6A);
/* Output data rates the LSM6DS3 driver accepts that suit a lifting tracker. */
static const uint16_t SUPPORTED_RATE_HZ[] = {26, 52, 104, 208, 416};
/* The driver's names for the gyro full scales of codes 0..4 (it calls 250 "245"). */
static const uint16_t LSM_GYRO_RANGE[LTP_GYRO_CODE_COUNT] = {125, 245, 500, 1000, 2000};
#define LED_OFF HIGH /* the XIAO's LEDs are active low */
#else
/* The Arduino_BMI270_BMM150 library runs the BMI270 at ~100 Hz, +-4 g, +-2000 dps. */
static const uint16_t SUPPORTED_RATE_HZ[] = {100};
#define LED_OFF LOW
#endif
#define N_RATES (sizeof SUPPORTED_RATE_HZ / sizeof SUPPORTED_RATE_HZ[0])

/* ---- state ---------------------------------------------------------------------- */

struct Settings {
  uint16_t nominal_hz; /* the rate the IMU is set to */
  uint8_t acc_code;
  uint8_t gyro_code;
};
#if defined(BOARD_XIAO_SENSE)
static Settings settings = {104, 2, 4}; /* +-8 g: swings reach 2-3 g at the lower back */
#else
static Settings settings = {100, 1, 4};
#endif

/* Buffered samples, drops and the measured rate (stream.c, README section 5). */
static ltp_stream_t stream;

static bool streaming = false;
static bool imuOk = false;
static uint8_t seq = 0;
static uint8_t batch = 1; /* samples per notification */
static uint16_t payloadBudget = LTP_MIN_PAYLOAD;
static uint32_t reportedDropped = 0; /* last total sent in an OVERFLOW event */
static uint32_t lastOverflowEventMs = 0;

static uint32_t identifyUntilMs = 0;

/* A control write waiting for loop(). */
static uint8_t pendingCommand[16];
static int pendingLength = -1;

/* ---- helpers -------------------------------------------------------------------- */

/* Profile counts from a physical value, rounded and saturated (README section 3). */
static int16_t toCounts(float value, float fullScale) {
  float c = value * 32768.0f / fullScale;
  if (c >= 32767.0f) return 32767;
  if (c <= -32768.0f) return -32768;
  return (int16_t)(c >= 0 ? c + 0.5f : c - 0.5f);
}

/* Empties the buffer and restarts rate tracking from the rate the IMU is set to. */
static void resetStream() {
  ltp_stream_reset(&stream, 1e6f / settings.nominal_hz);
}

static bool applyImuSettings() {
#if defined(BOARD_XIAO_SENSE)
  imu.settings.accelRange = (uint16_t)ACC_RANGE_G[settings.acc_code];
  imu.settings.accelSampleRate = settings.nominal_hz;
  imu.settings.gyroRange = LSM_GYRO_RANGE[settings.gyro_code];
  imu.settings.gyroSampleRate = settings.nominal_hz;
  imuOk = imu.begin() == IMU_SUCCESS;
#else
  imuOk = IMU.begin() != 0;
#endif
  resetStream();
  return imuOk;
}

/* Reads one new sample if the IMU has one. */
static void pollImu() {
  if (!imuOk) return;
  float a[3], g[3];
#if defined(BOARD_XIAO_SENSE)
  uint8_t status = 0;
  if (imu.readRegister(&status, LSM6DS3_ACC_GYRO_STATUS_REG) != IMU_SUCCESS) return;
  if ((status & 0x03) != 0x03) return; /* XLDA and GDA: both new */
  uint32_t now = micros();
  a[0] = imu.readFloatAccelX();
  a[1] = imu.readFloatAccelY();
  a[2] = imu.readFloatAccelZ();
  g[0] = imu.readFloatGyroX();
  g[1] = imu.readFloatGyroY();
  g[2] = imu.readFloatGyroZ();
#else
  if (!IMU.accelerationAvailable() || !IMU.gyroscopeAvailable()) return;
  uint32_t now = micros();
  IMU.readAcceleration(a[0], a[1], a[2]);
  IMU.readGyroscope(g[0], g[1], g[2]);
#endif
  if (!streaming) return;
  ltp_sample_t sample;
  for (int k = 0; k < 3; k++) {
    sample.acc[k] = toCounts(a[k], ACC_RANGE_G[settings.acc_code]);
    sample.gyro[k] = toCounts(g[k], GYRO_RANGE_DPS[settings.gyro_code]);
  }
  ltp_stream_push(&stream, now, &sample);
}

/* Sends one packet when a batch is ready, or when a gap ends a shorter run. */
static void sendPackets() {
  if (!streaming) return;
  static ltp_packet_t packet;
  if (!ltp_stream_take_packet(&stream, batch, &packet)) return;
  packet.seq = seq;
  packet.acc_code = settings.acc_code;
  packet.gyro_code = settings.gyro_code;
  static uint8_t bytes[LTP_MAX_PACKET_SIZE];
  size_t length = 0;
  if (ltp_encode(&packet, bytes, sizeof bytes, &length) != LTP_OK || length > payloadBudget) {
    return; /* cannot happen: batch <= ltp_max_samples_for_payload(payloadBudget) */
  }
  dataChar.writeValue(bytes, (int)length);
  seq++;
}

/* ---- control -------------------------------------------------------------------- */

static void respond(uint8_t op, uint8_t status, const uint8_t *params, int n) {
  uint8_t out[16];
  out[0] = LTP_RESPONSE;
  out[1] = op;
  out[2] = status;
  for (int i = 0; i < n && i < 13; i++) out[3 + i] = params[i];
  controlChar.writeValue(out, 3 + (status == LTP_STATUS_OK ? n : 0));
}

static void sendEvent(uint8_t code, const uint8_t *params, int n) {
  uint8_t out[8];
  out[0] = LTP_EVENT;
  out[1] = code;
  for (int i = 0; i < n && i < 6; i++) out[2 + i] = params[i];
  controlChar.writeValue(out, 2 + n);
}

static uint16_t nearestRate(uint16_t wanted_qhz) {
  uint16_t best = SUPPORTED_RATE_HZ[0];
  for (unsigned i = 1; i < N_RATES; i++) {
    long d_best = labs((long)best * 4 - wanted_qhz);
    long d_i = labs((long)SUPPORTED_RATE_HZ[i] * 4 - wanted_qhz);
    if (d_i < d_best) best = SUPPORTED_RATE_HZ[i];
  }
  return best;
}

static void handleCommand(const uint8_t *cmd, int n) {
  static const uint8_t PARAMS[] = {0, 2, 0, 2, 2, 1, 0}; /* by opcode, index 0 unused */
  uint8_t op = n > 0 ? cmd[0] : 0;
  uint8_t p[10];
  if (n < 1) {
    respond(0, LTP_STATUS_INVALID_LENGTH, p, 0);
    return;
  }
  if (op < LTP_OP_START || op > LTP_OP_GET_STATUS) {
    respond(op, LTP_STATUS_UNKNOWN_OPCODE, p, 0);
    return;
  }
  if (n - 1 != PARAMS[op]) {
    respond(op, LTP_STATUS_INVALID_LENGTH, p, 0);
    return;
  }
  switch (op) {
    case LTP_OP_START: {
      uint16_t budget = ltp_get_u16(cmd + 1);
      if (budget < LTP_MIN_PAYLOAD) {
        respond(op, LTP_STATUS_INVALID_PARAMETER, p, 0);
        return;
      }
      if (streaming) {
        respond(op, LTP_STATUS_INVALID_STATE, p, 0);
        return;
      }
      if (!imuOk && !applyImuSettings()) {
        respond(op, LTP_STATUS_SENSOR_ERROR, p, 0);
        return;
      }
      /* This board never sends more than MTU 247 allows, whatever the budget says. */
      payloadBudget = budget < LTP_PAYLOAD_MTU247 ? budget : LTP_PAYLOAD_MTU247;
      batch = ltp_samples_per_notification(payloadBudget, (uint16_t)(settings.nominal_hz * 4));
      seq = 0;
      reportedDropped = 0;
      resetStream();
      streaming = true;
      ltp_put_u16(p, ltp_stream_rate_qhz(&stream));
      p[2] = settings.acc_code;
      p[3] = settings.gyro_code;
      p[4] = batch;
      respond(op, LTP_STATUS_OK, p, 5);
      return;
    }
    case LTP_OP_STOP:
      streaming = false;
      respond(op, LTP_STATUS_OK, p, 0);
      return;
    case LTP_OP_SET_RATE: {
      uint16_t qhz = ltp_get_u16(cmd + 1);
      if (qhz == 0 || qhz > LTP_MAX_RATE_QHZ) {
        respond(op, LTP_STATUS_INVALID_PARAMETER, p, 0);
        return;
      }
      if (streaming) {
        respond(op, LTP_STATUS_INVALID_STATE, p, 0);
        return;
      }
      settings.nominal_hz = nearestRate(qhz);
      if (!applyImuSettings()) {
        respond(op, LTP_STATUS_SENSOR_ERROR, p, 0);
        return;
      }
      ltp_put_u16(p, (uint16_t)(settings.nominal_hz * 4));
      respond(op, LTP_STATUS_OK, p, 2);
      return;
    }
    case LTP_OP_SET_RANGE: {
      uint8_t acc = cmd[1], gyro = cmd[2];
      bool supported = acc < LTP_ACC_CODE_COUNT && gyro < LTP_GYRO_CODE_COUNT;
#if defined(BOARD_NANO33BLE)
      supported = supported && acc == 1 && gyro == 4; /* the library's fixed ranges */
#endif
      if (!supported) {
        respond(op, LTP_STATUS_INVALID_PARAMETER, p, 0);
        return;
      }
      if (streaming) {
        respond(op, LTP_STATUS_INVALID_STATE, p, 0);
        return;
      }
      settings.acc_code = acc;
      settings.gyro_code = gyro;
      if (!applyImuSettings()) {
        respond(op, LTP_STATUS_SENSOR_ERROR, p, 0);
        return;
      }
      p[0] = acc;
      p[1] = gyro;
      respond(op, LTP_STATUS_OK, p, 2);
      return;
    }
    case LTP_OP_IDENTIFY:
      if (cmd[1] < 1 || cmd[1] > 60) {
        respond(op, LTP_STATUS_INVALID_PARAMETER, p, 0);
        return;
      }
      identifyUntilMs = millis() + 1000UL * cmd[1];
      respond(op, LTP_STATUS_OK, p, 0);
      return;
    case LTP_OP_GET_STATUS:
      p[0] = streaming ? 1 : 0;
      ltp_put_u16(p + 1, ltp_stream_rate_qhz(&stream));
      p[3] = settings.acc_code;
      p[4] = settings.gyro_code;
      p[5] = batch;
      ltp_put_u32(p + 6, stream.dropped);
      respond(op, LTP_STATUS_OK, p, 10);
      return;
  }
}

static void onControlWritten(BLEDevice, BLECharacteristic characteristic) {
  /* The longest command has 3 bytes; anything longer is answered INVALID_LENGTH. */
  int n = characteristic.valueLength();
  if (n > (int)sizeof pendingCommand) n = sizeof pendingCommand;
  memcpy(pendingCommand, characteristic.value(), n);
  pendingLength = n;
}

static void onDisconnected(BLEDevice) {
  streaming = false; /* README section 4: the next connection starts stopped */
}

static void reportOverflow() {
  if (!streaming || stream.dropped == reportedDropped) return;
  if (millis() - lastOverflowEventMs < 1000UL) return; /* at most once per second */
  uint8_t p[4];
  ltp_put_u32(p, stream.dropped);
  sendEvent(LTP_EVENT_OVERFLOW, p, 4);
  reportedDropped = stream.dropped;
  lastOverflowEventMs = millis();
}

/* ---- battery -------------------------------------------------------------------- */

#if defined(HAS_BATTERY)
static uint32_t lastBatteryMs = 0;
static uint8_t lastPercent = 255;

/* Coarse Li-Po curve under light load: volts -> percent (README section 6). */
static uint8_t percentFromMillivolts(float mv) {
  static const float MV[] = {3300, 3500, 3650, 3750, 3850, 3950, 4050, 4200};
  static const float PCT[] = {0, 5, 15, 30, 50, 70, 85, 100};
  if (mv <= MV[0]) return 0;
  for (int i = 1; i < 8; i++) {
    if (mv <= MV[i]) {
      return (uint8_t)(PCT[i - 1] + (PCT[i] - PCT[i - 1]) * (mv - MV[i - 1]) / (MV[i] - MV[i - 1]));
    }
  }
  return 100;
}

static float batteryMillivolts() {
  /* VBAT_ENABLE stays LOW all the time: Seeed warns that driving it high while charging
   * can put more than 3.6 V on P0.31. */
  analogReadResolution(12);
  long sum = 0;
  for (int i = 0; i < 16; i++) sum += analogRead(PIN_VBAT);
  /* 3.3 V full scale (default reference), 1M / 510k divider. CHECK ON A REAL BOARD. */
  return (sum / 16.0f) * 3300.0f / 4095.0f * (1510.0f / 510.0f);
}

static void updateBattery() {
  if (millis() - lastBatteryMs < 10000UL && lastPercent != 255) return;
  lastBatteryMs = millis();
  float mv = batteryMillivolts();
  uint8_t pct = percentFromMillivolts(mv);
  if (lastPercent == 255 || abs((int)pct - (int)lastPercent) >= 5) {
    batteryChar.writeValue(pct);
    lastPercent = pct;
  }
  if (streaming && mv < 3400.0f) {
    streaming = false;
    uint8_t reason = LTP_STOP_REASON_LOW_BATTERY;
    sendEvent(LTP_EVENT_STREAM_STOPPED, &reason, 1);
  }
}
#endif

/* ---- setup / loop --------------------------------------------------------------- */

static void updateLed() {
  if ((int32_t)(identifyUntilMs - millis()) > 0) {
    digitalWrite(LED_BUILTIN, (millis() / 125) % 2 ? HIGH : LOW); /* 4 Hz blink */
  } else {
    digitalWrite(LED_BUILTIN, LED_OFF);
  }
}

void setup() {
  Serial.begin(115200);
  pinMode(LED_BUILTIN, OUTPUT);
  digitalWrite(LED_BUILTIN, LED_OFF);
#if defined(HAS_BATTERY)
  pinMode(VBAT_ENABLE, OUTPUT);
  digitalWrite(VBAT_ENABLE, LOW);
#endif
  if (!applyImuSettings()) {
    Serial.println("lumbar_imu: IMU did not answer; START will report SENSOR_ERROR");
  }
  if (!BLE.begin()) {
    Serial.println("lumbar_imu: BLE.begin() failed");
    while (true) {
      digitalWrite(LED_BUILTIN, (millis() / 500) % 2 ? HIGH : LOW);
    }
  }

  /* "LTRK" + last 4 hex digits of the address: 8 characters (README section 2). */
  String address = BLE.address(); /* "aa:bb:cc:dd:ee:ff" */
  String name = String("LTRK") + address.substring(12, 14) + address.substring(15, 17);
  name.toUpperCase();
  static char nameBuf[8 + 1];
  name.toCharArray(nameBuf, sizeof nameBuf);

  BLE.setDeviceName(nameBuf);
  BLE.setLocalName(nameBuf); /* scan response */
  BLE.setConnectionInterval(CONN_INTERVAL_MIN, CONN_INTERVAL_MAX);

  imuService.addCharacteristic(dataChar);
  imuService.addCharacteristic(controlChar);
  BLE.addService(imuService);
  manufacturerChar.writeValue(MANUFACTURER);
  modelChar.writeValue(MODEL);
  firmwareChar.writeValue(FIRMWARE_REVISION);
  infoService.addCharacteristic(manufacturerChar);
  infoService.addCharacteristic(modelChar);
  infoService.addCharacteristic(firmwareChar);
  BLE.addService(infoService);
#if defined(HAS_BATTERY)
  batteryService.addCharacteristic(batteryChar);
  BLE.addService(batteryService);
  updateBattery();
#endif

  controlChar.setEventHandler(BLEWritten, onControlWritten);
  BLE.setEventHandler(BLEDisconnected, onDisconnected);

  /* Name and service UUID in the advertising PDU itself: 3 + 18 + 10 = 31 bytes. */
  BLEAdvertisingData adv;
  adv.setFlags(BLEFlagsGeneralDiscoverable | BLEFlagsBREDRNotSupported);
  adv.setAdvertisedService(imuService);
  adv.setLocalName(nameBuf);
  BLE.setAdvertisingData(adv);
  BLE.advertise();

  Serial.print("lumbar_imu: advertising as ");
  Serial.println(nameBuf);
}

void loop() {
  BLE.poll();
  pollImu();
  if (pendingLength >= 0) {
    int n = pendingLength;
    pendingLength = -1;
    handleCommand(pendingCommand, n);
  }
  sendPackets();
  reportOverflow();
#if defined(HAS_BATTERY)
  updateBattery();
#endif
  updateLed();
}
