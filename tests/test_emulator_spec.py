"""The emulated peripheral of our profile follows firmware_notes/README.md (issue 5 item 5).

It is brought up on a virtual link (bumble) and read only through bleak's public API, as
a central would: its GATT table is compared with ``GATT_PROFILE``, its data notifications
byte for byte with ``encode_data_packet`` of the same samples, and its control answers
with the status codes of the specification's tables (written here as literal bytes, so a
codec that drifted from the spec would not hide a wrong emulator).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from ble_helpers import motion, run
from bleak import BleakClient

from tracker.devices import tracker_imu as imu
from tracker.devices.bumble_backend import BumbleClient, VirtualBleWorld
from tracker.devices.emulator import TrackerImuSensor

RATE_HZ = 100.0
CLOCK_START_S = 12.5
#: Services every GATT server has (GAP, GATT); the profile lists only its own.
STACK_SERVICES = {"00001800-0000-1000-8000-00805f9b34fb", "00001801-0000-1000-8000-00805f9b34fb"}
# Spec section 4: a response is F0 <opcode> <status>; the status codes of its table.
OK, UNKNOWN_OPCODE, INVALID_LENGTH, INVALID_PARAMETER, INVALID_STATE = 0, 1, 2, 3, 4
START, STOP, SET_RATE = 0x01, 0x02, 0x03


@asynccontextmanager
async def _connected(duration_s: float, speed: float | None) -> AsyncIterator[tuple]:
    world = VirtualBleWorld()
    samples = motion("lumbar", duration_s, RATE_HZ)
    sensor = TrackerImuSensor(world, samples, speed=speed, clock_start_s=CLOCK_START_S)
    await sensor.start()
    try:
        async with BleakClient(sensor.address, backend=BumbleClient, bumble_world=world) as c:
            yield c, sensor, samples
    finally:
        await world.close()


class _Control:
    """Writes commands and waits for the one response notification each gets."""

    def __init__(self, client: BleakClient) -> None:
        self.client = client
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def enable(self) -> None:
        await self.client.start_notify(
            imu.CONTROL_CHAR_UUID, lambda _c, d: self.queue.put_nowait(bytes(d))
        )

    async def send(self, command: bytes) -> bytes:
        await self.client.write_gatt_char(imu.CONTROL_CHAR_UUID, command, True)
        return await asyncio.wait_for(self.queue.get(), 2.0)


def test_gatt_table_is_the_profile() -> None:
    async def body() -> None:
        async with _connected(1.0, None) as (client, _sensor, _samples):
            table = {
                s.uuid: {c.uuid: set(c.properties) for c in s.characteristics}
                for s in client.services
                if s.uuid not in STACK_SERVICES
            }
        spec = {
            s.uuid: {c.uuid: set(c.properties) for c in s.characteristics} for s in imu.GATT_PROFILE
        }
        assert table == spec

    run(body)


@pytest.mark.parametrize(("budget", "per_packet"), [(244, 10), (20, 1)])
def test_data_notifications_are_the_encoder_bytes(budget: int, per_packet: int) -> None:
    async def body() -> None:
        got: list[bytes] = []
        async with _connected(0.5, None) as (client, sensor, samples):
            control = _Control(client)
            await control.enable()
            await client.start_notify(imu.DATA_CHAR_UUID, lambda _c, d: got.append(bytes(d)))
            answer = await control.send(imu.encode_start(budget))
            await asyncio.wait_for(sensor.exhausted.wait(), 5.0)
            await asyncio.sleep(0.05)  # the last notifications are still on the link
        # 100 Hz = 400 quarter-hertz (0x0190), acc code 2 (8 g), gyro code 4 (2000 dps).
        assert answer == bytes([0xF0, START, OK, 0x90, 0x01, 2, 4, per_packet])
        # The source is on the 100 Hz grid from t = 0, so the device samples it exactly.
        acc, gyro = imu.quantize(
            samples.acc_mps2, samples.gyro_rad_s, acc_range_g=8, gyro_range_dps=2000
        )
        expected = [
            imu.encode_data_packet(
                seq=k % 256,
                t0_us=round((CLOCK_START_S + a / RATE_HZ) * 1e6),
                sample_rate_hz=RATE_HZ,
                acc_range_g=8,
                gyro_range_dps=2000,
                acc_counts=acc[a : a + per_packet],
                gyro_counts=gyro[a : a + per_packet],
            )
            for k, a in enumerate(range(0, len(samples), per_packet))
        ]
        assert len(got) == len(expected)
        assert got == expected

    run(body)


def test_control_answers_use_the_spec_codes() -> None:
    async def body() -> None:
        async with _connected(20.0, 1.0) as (client, sensor, _samples):
            control = _Control(client)
            await control.enable()
            # Refused while stopped: bad rates, bad budget, bad length, unknown opcode.
            assert await control.send(bytes([SET_RATE, 0, 0])) == bytes(
                [0xF0, SET_RATE, INVALID_PARAMETER]
            )
            assert await control.send(bytes([SET_RATE, 0x00, 0x08])) == bytes(
                [0xF0, SET_RATE, INVALID_PARAMETER]
            )  # 2048 quarter-hertz, one past the 11-bit field
            assert await control.send(bytes([START, 19, 0])) == bytes(
                [0xF0, START, INVALID_PARAMETER]
            )
            assert await control.send(bytes([START, 244])) == bytes([0xF0, START, INVALID_LENGTH])
            assert await control.send(bytes([0x7F])) == bytes([0xF0, 0x7F, UNKNOWN_OPCODE])
            assert not sensor.streaming
            # START, then START again while streaming: INVALID_STATE, stream unchanged.
            first = await control.send(imu.encode_start(244))
            assert first[:3] == bytes([0xF0, START, OK])
            assert sensor.streaming
            assert await control.send(imu.encode_start(20)) == bytes([0xF0, START, INVALID_STATE])
            assert sensor.streaming and sensor.samples_per_notification == 10
            assert await control.send(imu.encode_set_rate(50.0)) == bytes(
                [0xF0, SET_RATE, INVALID_STATE]
            )
            assert sensor.stats.starts == 1
            # STOP, STOP while stopped (OK), then START is accepted again.
            assert await control.send(imu.encode_stop()) == bytes([0xF0, STOP, OK])
            assert await control.send(imu.encode_stop()) == bytes([0xF0, STOP, OK])
            assert (await control.send(imu.encode_start(244)))[:3] == bytes([0xF0, START, OK])
            assert await control.send(imu.encode_stop()) == bytes([0xF0, STOP, OK])

    run(body)
