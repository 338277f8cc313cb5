/* Declarations of the Arduino_BMI270_BMM150 API that lumbar_imu.ino uses; syntax check. */
#ifndef SKETCH_CHECK_BMI270_H
#define SKETCH_CHECK_BMI270_H
#include <Arduino.h>
class BoschSensorClass {
 public:
  int begin();
  int accelerationAvailable();
  int gyroscopeAvailable();
  int readAcceleration(float &x, float &y, float &z);
  int readGyroscope(float &x, float &y, float &z);
};
extern BoschSensorClass IMU;
#endif
