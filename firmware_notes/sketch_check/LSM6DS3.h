/* Declarations of the Seeed Arduino LSM6DS3 API that lumbar_imu.ino uses (LSM6DS3.h of
 * Seeed-Studio/Seeed_Arduino_LSM6DS3); for a syntax check. */
#ifndef SKETCH_CHECK_LSM6DS3_H
#define SKETCH_CHECK_LSM6DS3_H
#include <Arduino.h>
#define I2C_MODE 0
#define LSM6DS3_ACC_GYRO_STATUS_REG 0X1E
typedef enum { IMU_SUCCESS, IMU_HW_ERROR, IMU_NOT_SUPPORTED, IMU_GENERIC_ERROR } status_t;
struct SensorSettings {
  uint16_t gyroRange;
  uint16_t gyroSampleRate;
  uint16_t accelRange;
  uint16_t accelSampleRate;
};
class LSM6DS3 {
 public:
  SensorSettings settings;
  LSM6DS3(uint8_t busType = I2C_MODE, uint8_t inputArg = 0x6A);
  status_t begin(void);
  status_t readRegister(uint8_t *, uint8_t);
  float readFloatAccelX(void);
  float readFloatAccelY(void);
  float readFloatAccelZ(void);
  float readFloatGyroX(void);
  float readFloatGyroY(void);
  float readFloatGyroZ(void);
};
#endif
