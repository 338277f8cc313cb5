/* Wire is used by the LSM6DS3 library, not by the sketch itself. */
