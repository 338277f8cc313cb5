"""Where a live session's sensors come from: DEVICE strings become the targets the BLE
session (tracker.devices.ble) connects to.

A DEVICE is a BLE address or advertised name, or ``emulator:PATH`` /
``emulator:KIND:PATH``: a virtual peripheral (tracker.devices.emulator) on an in-process
BLE link (tracker.devices.bumble_backend) streaming that placement's samples from a
recording. `SensorSources` creates the emulated ones of a session, all on one virtual
link and one `PlaybackClock`, so they sample the recording together, as two real
sensors on one body measure the same moment. When every sensor is emulated their
device clocks are known (`KnownClock`): samples arrive on the source recording's own
timeline, and the two sensors line up exactly as in the source, at any ``speed``. With
a real sensor in the session, an emulated one is mapped onto the session clock like
the real one (`ClockMapper`, its clock running ``speed`` times fast); so is it when
the session's other sensor is a real phone (``on_source_timeline=False``). A mixed
session (`tracker.devices.mixed_session`) hands the same `PlaybackClock` to an
emulated phone, which then plays the recording in step with the emulated sensors.

::

    async with SensorSources(devices, speed=10.0) as sources:  # emulators advertising
        async with BleSession(sources.targets) as session:
            sources.start_playback()  # every emulated stream begins at the recording's start
            async for item in session:
                ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.devices.ble import BleTransport, SensorTarget, check_placements
from tracker.devices.playback import PlaybackClock, load_placement_samples
from tracker.devices.stream_tracking import ClockMapper, KnownClock
from tracker.devices.supported import get_kind
from tracker.errors import DeviceError

if TYPE_CHECKING:
    from tracker.devices.emulator import EmulatedSensor, Faults

EMULATOR_PREFIX = "emulator:"

_KIND_RE = re.compile(r"^[a-z][a-z0-9_]+$")


@dataclass(frozen=True)
class DeviceSpec:
    """A parsed DEVICE string: a BLE ``target`` (address or name) or an emulator."""

    target: str | None = None
    emulator_path: Path | None = None
    kind: str | None = None

    @property
    def is_emulator(self) -> bool:
        return self.emulator_path is not None


def parse_device_spec(text: str) -> DeviceSpec:
    """``ADDRESS`` | ``NAME`` | ``emulator:PATH`` | ``emulator:KIND:PATH``.

    KIND is a supported kind (see `tracker.devices.kinds`); our firmware profile by
    default. Raises `UnknownDeviceError` for an unknown KIND, `DeviceError` when empty.
    """
    text = text.strip()
    if not text:
        raise DeviceError("empty device: give a BLE address or name, or emulator:PATH")
    if not text.startswith(EMULATOR_PREFIX):
        return DeviceSpec(target=text)
    rest = text[len(EMULATOR_PREFIX) :]
    kind = None
    head, sep, tail = rest.partition(":")
    # "c:\\x.csv" is a Windows path, not a kind: kinds are longer than one letter.
    if sep and _KIND_RE.match(head) and not Path(rest).exists():
        kind = get_kind(head).kind
        rest = tail
    if not rest:
        raise DeviceError(f"{text!r} names no recording: use emulator:PATH or emulator:KIND:PATH")
    return DeviceSpec(emulator_path=Path(rest), kind=kind)


class SensorSources:
    """The sensors of one session, by placement, as `SensorTarget` s (`targets`).

    ``devices``: placement -> DEVICE string. ``speed``: emulated sensors play their
    recording that many times faster than real time. ``transport``: the bleak backends
    of real sensors (None: the platform's). ``faults`` (tests): injected into emulated
    sensors by placement. ``clock``: the playback clock of the emulated sensors (None:
    a new one at ``speed``). ``on_source_timeline``: False when the session has a real
    sensor besides these (a phone): emulated ones are then mapped like it.

    `open` (or ``async with``) loads the recordings and powers the emulated sensors on;
    `start_playback`, once every sensor is connected, starts their streams together;
    `close` powers them off.
    """

    def __init__(
        self,
        devices: Mapping[str, str],
        *,
        speed: float = 1.0,
        transport: BleTransport | None = None,
        faults: Mapping[str, Faults] | None = None,
        clock: PlaybackClock | None = None,
        on_source_timeline: bool = True,
    ) -> None:
        check_placements(devices)
        self.specs = {p: parse_device_spec(d) for p, d in devices.items()}
        self.speed = speed
        self.transport = transport
        self.faults = dict(faults or {})
        self._clock = clock
        self.on_source_timeline = on_source_timeline
        self.targets: dict[str, SensorTarget] = {}
        #: placement -> the emulated sensor streaming it.
        self.emulated: dict[str, EmulatedSensor] = {}
        self._world: Any = None

    @property
    def all_emulated(self) -> bool:
        """Every sensor is emulated: the recording's timeline is the source's."""
        return all(spec.is_emulator for spec in self.specs.values())

    @property
    def source_timeline(self) -> bool:
        """Samples go on the source recording's timeline: every sensor of the session,
        these and any other, is emulated."""
        return self.all_emulated and self.on_source_timeline

    async def __aenter__(self) -> SensorSources:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> dict[str, SensorTarget]:
        """Create the emulated sensors (powered on, advertising) and every target.

        Raises `DeviceError` when the emulator extra is missing or a recording has no
        samples for its placement, `InputError` when a recording cannot be read.
        """
        try:
            for placement, spec in self.specs.items():
                if spec.is_emulator:
                    self.targets[placement] = await self._emulate(placement, spec)
                else:
                    assert spec.target is not None
                    self.targets[placement] = SensorTarget(spec.target, self.transport, spec.kind)
        except BaseException:
            await self.close()
            raise
        return self.targets

    def start_playback(self) -> None:
        """Start the emulated sensors' recordings (every stream begins at its start)."""
        if self._clock is not None:
            self._clock.start()

    async def _emulate(self, placement: str, spec: DeviceSpec) -> SensorTarget:
        try:
            from tracker.devices import emulator
            from tracker.devices.bumble_backend import BumbleClient, BumbleScanner, VirtualBleWorld
        except ImportError as exc:  # bumble is an optional extra
            raise DeviceError(
                f"emulator devices need the 'emulator' extra ({exc.name} is missing): "
                "pip install 'lumbar-tracker[emulator]'"
            ) from exc
        assert spec.emulator_path is not None
        samples = load_placement_samples(spec.emulator_path, placement)
        if self._world is None:
            self._world = VirtualBleWorld()
        if self._clock is None:
            self._clock = PlaybackClock(self.speed)
        clock = self._clock
        sensor = emulator.create_sensor(
            spec.kind,
            self._world,
            samples,
            clock=clock,
            faults=self.faults.get(placement),
            index=len(self.emulated) + 1,
        )
        await sensor.start()
        self.emulated[placement] = sensor
        start_s = float(samples.time_s[0])
        device_clock = (
            # Grid time t is the source's time start_s + t; the device clock reads
            # clock_start_s + t.
            KnownClock(start_s - sensor.clock_start_s, lambda: start_s + clock.now_s())
            if self.source_timeline
            else ClockMapper(clock.speed)
        )
        return SensorTarget(
            sensor.target,
            BleTransport(BumbleScanner, BumbleClient, {"bumble_world": self._world}),
            sensor.kind,
            device_clock,
            sensor.exhausted,
        )

    async def close(self) -> None:
        """Power the emulated sensors off (idempotent; after the BLE session closed)."""
        emulated, self.emulated = self.emulated, {}
        for sensor in emulated.values():
            await sensor.close()
        world, self._world = self._world, None
        if world is not None:
            await world.close()
