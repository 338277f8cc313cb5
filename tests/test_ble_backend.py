"""The bumble-backed bleak backend, exercised only through bleak's public API."""

from __future__ import annotations

import asyncio

import pytest
from ble_helpers import motion, run
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakCharacteristicNotFoundError, BleakError

from tracker.devices import tracker_imu as imu
from tracker.devices.bumble_backend import (
    BumbleClient,
    BumbleScanner,
    VirtualBleWorld,
    set_default_world,
)
from tracker.devices.emulator import Faults, TrackerImuSensor

BATTERY = "00002a19-0000-1000-8000-00805f9b34fb"


async def _world_with_sensor(**kwargs: object) -> tuple[VirtualBleWorld, TrackerImuSensor]:
    world = VirtualBleWorld()
    sensor = TrackerImuSensor(world, motion("lumbar", 2.0, 100.0), speed=None, **kwargs)
    await sensor.start()
    return world, sensor


def test_discovery_connect_services_and_notifications() -> None:
    async def body() -> None:
        world, sensor = await _world_with_sensor(address="C0:00:00:00:12:34")
        found = await BleakScanner.discover(
            timeout=0.3, return_adv=True, backend=BumbleScanner, bumble_world=world
        )
        assert list(found) == ["C0:00:00:00:12:34"]
        device, adv = found["C0:00:00:00:12:34"]
        # The firmware profile: name LTRK + 4 hex digits, our 128-bit service advertised once.
        assert adv.local_name == "LTRK1234" == sensor.name
        assert adv.service_uuids == [imu.SERVICE_UUID]
        by_name = await BleakScanner.find_device_by_name(
            "LTRK1234", timeout=1.0, backend=BumbleScanner, bumble_world=world
        )
        assert by_name is not None and by_name.address == device.address
        filtered = await BleakScanner.discover(
            timeout=0.2, service_uuids=["0000180d-0000-1000-8000-00805f9b34fb"],
            backend=BumbleScanner, bumble_world=world,
        )  # fmt: skip
        assert filtered == []

        got: list[bytes] = []
        async with BleakClient(device, backend=BumbleClient) as client:
            assert client.backend_id == "BumbleClient"
            assert client.mtu_size == 247  # requested after connecting, like BlueZ does
            uuids = {s.uuid for s in client.services}
            assert {imu.SERVICE_UUID, imu.BATTERY_SERVICE_UUID} <= uuids
            char = client.services.get_characteristic(imu.CONTROL_CHAR_UUID)
            assert char is not None and set(char.properties) == {"write", "notify"}
            assert (await client.read_gatt_char(BATTERY)) == bytearray([87])
            model = await client.read_gatt_char(imu.MODEL_NUMBER_CHAR_UUID)
            assert model.decode() == sensor.model
            responses: list[bytes] = []
            await client.start_notify(imu.CONTROL_CHAR_UUID, lambda _c, d: responses.append(d))
            await client.start_notify(imu.DATA_CHAR_UUID, lambda _c, d: got.append(bytes(d)))
            await client.write_gatt_char(imu.CONTROL_CHAR_UUID, imu.encode_start(244), True)
            await asyncio.wait_for(sensor.exhausted.wait(), 5.0)
            await asyncio.sleep(0.05)
            await client.stop_notify(imu.DATA_CHAR_UUID)
        assert not client.is_connected
        start = imu.decode_control_notification(responses[0])
        assert isinstance(start, imu.Response) and start.status is imu.Status.OK
        assert isinstance(start.value, imu.StreamConfig)
        assert start.value.samples_per_notification == 10  # 100 ms at 100 Hz fits 244 B
        assert len(got) == 20 and sum(len(imu.decode_data_packet(p)) for p in got) == 200
        await world.close()

    run(body)


def test_mtu_stays_23_without_exchange_and_long_writes_are_cut() -> None:
    async def body() -> None:
        world, sensor = await _world_with_sensor()
        client = BleakClient(
            sensor.address, backend=BumbleClient, bumble_world=world, bumble_mtu=23
        )
        await client.connect()
        assert client.mtu_size == 23
        char = client.services.get_characteristic(imu.DATA_CHAR_UUID)
        assert char.max_write_without_response_size == 20
        await client.disconnect()
        await world.close()

    run(body)


def test_remote_disconnect_fires_callback_and_same_client_reconnects() -> None:
    async def body() -> None:
        world, sensor = await _world_with_sensor(faults=Faults(disconnect_after=3))
        dropped = asyncio.Event()
        client = BleakClient(
            sensor.address,
            disconnected_callback=lambda _c: dropped.set(),
            backend=BumbleClient,
            bumble_world=world,
        )
        await client.connect()
        await client.start_notify(imu.DATA_CHAR_UUID, lambda _c, _d: None)
        await client.write_gatt_char(imu.CONTROL_CHAR_UUID, imu.encode_start(244), True)
        await asyncio.wait_for(dropped.wait(), 5.0)
        assert not client.is_connected
        with pytest.raises(BleakError):
            await client.write_gatt_char(imu.CONTROL_CHAR_UUID, imu.encode_stop(), True)
        # The peripheral advertises again by itself; the same client object reconnects.
        await client.connect()
        assert client.is_connected and client.mtu_size == 247
        await client.disconnect()
        await world.close()

    run(body)


def test_absent_device_times_out_and_a_later_connect_still_works() -> None:
    async def body() -> None:
        world, sensor = await _world_with_sensor()
        ghost = BleakClient(
            "C0:00:00:00:99:99", backend=BumbleClient, bumble_world=world, timeout=0.3
        )
        with pytest.raises(TimeoutError):
            await ghost.connect()
        set_default_world(world)  # the module default serves clients without the kwarg
        try:
            client = BleakClient(sensor.address, backend=BumbleClient)
            await client.connect()
            assert client.is_connected
            await client.disconnect()
        finally:
            set_default_world(None)
        await world.close()

    run(body)


def test_device_without_the_service() -> None:
    async def body() -> None:
        world, sensor = await _world_with_sensor(faults=Faults(lacks_service=True))
        assert (
            await BleakScanner.discover(
                timeout=0.2, service_uuids=[imu.SERVICE_UUID],
                backend=BumbleScanner, bumble_world=world,
            )
        ) == []  # fmt: skip
        async with BleakClient(sensor.address, backend=BumbleClient, bumble_world=world) as c:
            with pytest.raises(BleakCharacteristicNotFoundError):
                await c.start_notify(imu.DATA_CHAR_UUID, lambda _c, _d: None)
            assert (await c.read_gatt_char(BATTERY)) == bytearray([87])
        await world.close()

    run(body)


def test_backends_need_a_world() -> None:
    async def body() -> None:
        with pytest.raises(BleakError, match="VirtualBleWorld"):
            BleakClient("C0:00:00:00:00:01", backend=BumbleClient)
        with pytest.raises(BleakError, match="VirtualBleWorld"):
            BleakScanner(backend=BumbleScanner)

    run(body)


def test_world_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError):
        VirtualBleWorld()


def test_world_addresses_are_unique() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        world.add_device("a", "C0:00:00:00:00:01")
        auto = world.add_device("b")
        assert auto.random_address.to_string(False) == "C0:00:00:00:00:02"
        with pytest.raises(ValueError, match="already"):
            world.add_device("c", "c0:00:00:00:00:02")
        await world.close()

    run(body)
