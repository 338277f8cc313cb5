/*
 * Declarations of the Arduino core API that lumbar_imu.ino uses, for a host syntax and
 * type check of the sketch (make -C firmware_notes sketch-check). Nothing here runs:
 * the check compiles with -fsyntax-only. Signatures follow ArduinoCore-API / mbed core.
 */
#ifndef SKETCH_CHECK_ARDUINO_H
#define SKETCH_CHECK_ARDUINO_H
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HIGH 0x1
#define LOW 0x0
#define OUTPUT 0x1
#define LED_BUILTIN 13

class String {
 public:
  String(const char *cstr = "");
  String substring(unsigned int beginIndex, unsigned int endIndex) const;
  void toUpperCase(void);
  void toCharArray(char *buf, unsigned int bufsize, unsigned int index = 0) const;
  String &operator+=(const String &rhs);
  friend String operator+(const String &lhs, const String &rhs);
};

void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t val);
int analogRead(uint8_t pin);
void analogReadResolution(int bits);
unsigned long millis(void);
unsigned long micros(void);

class Print {
 public:
  size_t print(const char *);
  size_t println(const char *);
};
class UartLike : public Print {
 public:
  void begin(unsigned long baud);
};
extern UartLike Serial;

#endif
