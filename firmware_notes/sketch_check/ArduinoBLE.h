/* Declarations of the ArduinoBLE 2.0.1 API that lumbar_imu.ino uses, copied in shape
 * from src/BLECharacteristic.h, src/BLEAdvertisingData.h, src/local/BLELocalDevice.h,
 * src/BLETypedCharacteristics.h and src/BLEStringCharacteristic.h; for a syntax check. */
#ifndef SKETCH_CHECK_ARDUINOBLE_H
#define SKETCH_CHECK_ARDUINOBLE_H
#include <Arduino.h>

enum BLEProperty {
  BLEBroadcast = 0x01,
  BLERead = 0x02,
  BLEWriteWithoutResponse = 0x04,
  BLEWrite = 0x08,
  BLENotify = 0x10,
  BLEIndicate = 0x20
};
enum BLECharacteristicEvent { BLESubscribed = 0, BLEUnsubscribed = 1, BLEWritten = 3 };
enum BLEDeviceEvent { BLEConnected = 0, BLEDisconnected = 1, BLEDiscovered = 2 };
enum BLEFlags {
  BLEFlagsLimitedDiscoverable = 0x01,
  BLEFlagsGeneralDiscoverable = 0x02,
  BLEFlagsBREDRNotSupported = 0x04
};

class BLEDevice {
 public:
  String address() const;
};
class BLECharacteristic;
typedef void (*BLECharacteristicEventHandler)(BLEDevice device, BLECharacteristic characteristic);
typedef void (*BLEDeviceEventHandler)(BLEDevice device);

class BLECharacteristic {
 public:
  BLECharacteristic(const char *uuid, uint16_t permissions, int valueSize,
                    bool fixedLength = false);
  const uint8_t *value() const;
  int valueLength() const;
  int writeValue(const uint8_t value[], int length, bool withResponse = true);
  int writeValue(const void *value, int length, bool withResponse = true);
  int writeValue(const char *value, bool withResponse = true);
  void setEventHandler(int event, BLECharacteristicEventHandler eventHandler);
};

template <typename T>
class BLETypedCharacteristic : public BLECharacteristic {
 public:
  BLETypedCharacteristic(const char *uuid, unsigned int permissions);
  int writeValue(T value);
};
class BLEUnsignedCharCharacteristic : public BLETypedCharacteristic<unsigned char> {
 public:
  BLEUnsignedCharCharacteristic(const char *uuid, unsigned int permissions);
};
class BLEStringCharacteristic : public BLECharacteristic {
 public:
  BLEStringCharacteristic(const char *uuid, unsigned int properties, int valueSize);
  int writeValue(const String &value);
};

class BLEService {
 public:
  BLEService(const char *uuid);
  void addCharacteristic(BLECharacteristic &characteristic);
};

class BLEAdvertisingData {
 public:
  BLEAdvertisingData();
  bool setAdvertisedService(const BLEService &service);
  bool setLocalName(const char *localName);
  bool setFlags(uint8_t flags);
};

class BLELocalDevice {
 public:
  virtual int begin();
  virtual void poll();
  virtual String address() const;
  virtual bool setLocalName(const char *localName);
  virtual void setAdvertisingData(BLEAdvertisingData &advertisingData);
  virtual void setDeviceName(const char *deviceName);
  virtual void addService(BLEService &service);
  virtual int advertise();
  virtual void setConnectionInterval(uint16_t minimumConnectionInterval,
                                     uint16_t maximumConnectionInterval);
  virtual void setEventHandler(BLEDeviceEvent event, BLEDeviceEventHandler eventHandler);
};
extern BLELocalDevice &BLE;

#endif
