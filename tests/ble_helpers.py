"""Shared pieces of the BLE tests: synthetic motion, a world with emulated sensors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason
from live_helpers import run_virtual

from tracker.devices.ble import BleSession, BleTransport, StreamItem
from tracker.devices.bumble_backend import BumbleClient, BumbleScanner, VirtualBleWorld
from tracker.devices.sources import SensorSources
from tracker.samples import SensorSamples
from tracker.units import G_MPS2


def motion(placement: str, duration_s: float, rate_hz: float, phase: float = 0.0) -> SensorSamples:
    """A slow hinge-like motion: gravity tilting in x-z, rotation about y (sensor frame)."""
    t = np.arange(round(duration_s * rate_hz)) / rate_hz
    angle = 0.6 * np.sin(2 * np.pi * 0.7 * t + phase)
    rate = 0.6 * 2 * np.pi * 0.7 * np.cos(2 * np.pi * 0.7 * t + phase)
    acc = np.column_stack([G_MPS2 * np.sin(angle), 0.05 * np.sin(9 * t), G_MPS2 * np.cos(angle)])
    gyro = np.column_stack([0.02 * np.cos(5 * t), rate, -0.01 * np.ones_like(t)])
    return SensorSamples(placement, t, acc, gyro)


def transport(world: VirtualBleWorld) -> BleTransport:
    return BleTransport(BumbleScanner, BumbleClient, {"bumble_world": world})


def run(coro_fn: Callable[[], Awaitable[Any]], timeout_s: float = 30.0) -> Any:
    """Run one test coroutine on a fresh loop on a virtual clock (`run_virtual`: paced
    emulators and back-off take no wall time), bounded so a bug cannot hang the suite."""

    async def bounded() -> Any:
        async with asyncio.timeout(timeout_s):
            return await coro_fn()

    return run_virtual(bounded())


async def collect(session: BleSession, until: Callable[[], Awaitable[Any]]) -> list[StreamItem]:
    """Every item the session yields until ``until()`` completes (then it is closed)."""
    items: list[StreamItem] = []

    async def stopper() -> None:
        await until()
        await asyncio.sleep(0.05)  # the last notifications are still on the virtual link
        await session.close()

    task = asyncio.get_running_loop().create_task(stopper())
    async for item in session:
        items.append(item)
    await task
    return items


def blocks(items: list[StreamItem], placement: str) -> SensorSamples:
    found = [i for i in items if isinstance(i, SensorSamples) and i.placement == placement]
    return SensorSamples.concat(found) if found else SensorSamples.empty(placement)


class NoAdapterScanner(BaseBleakScanner):
    """Stands in for BlueZ on a machine without a Bluetooth adapter."""

    def __init__(self, detection_callback, service_uuids, scanning_mode="active", **kwargs):
        super().__init__(detection_callback, service_uuids)

    async def start(self) -> None:
        raise BleakBluetoothNotAvailableError(
            "No Bluetooth adapters found.", BleakBluetoothNotAvailableReason.NO_BLUETOOTH
        )

    async def stop(self) -> None:
        pass


def stream_emulated(devices: dict[str, str], speed: float) -> list[StreamItem]:
    """Everything a BLE session yields from emulated ``devices`` (DEVICE strings by
    placement) played back at ``speed`` until their recordings run out."""

    async def body() -> list[StreamItem]:
        async with SensorSources(devices, speed=speed) as sources:
            async with BleSession(sources.targets) as session:
                sources.start_playback()
                return [item async for item in session]

    return run(body)
