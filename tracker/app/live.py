"""One live session: stream sensors, record everything, analyse, cue, summarise.

    result = await run_live(LiveConfig(devices={"lumbar": "emulator:rec.trk"},
                                       output_path=Path("s.trk"),
                                       settings=AnalysisSettings()), sink)

`run_live` creates the session's sensors (`tracker.devices.sources`: emulated ones start
up here) and opens a `tracker.devices.ble.BleSession` on them, then creates the native recording
(so a session that cannot connect leaves no empty file) and, until the streams end,
the ``stop`` event is set (Ctrl-C, SIGTERM or SIGHUP in the CLI) or ``duration_s`` of
wall time passed:

* writes every sample block, raw notification and gap to the recording as it arrives
  (the writer hands it to the OS at every second of recording and fsyncs every second
  of wall time, so a crash loses less than a second of recording at any ``speed``);
* feeds the blocks to the analysis pipeline and hands its events, the cues that the
  `CuePolicy` releases and link changes to the `LiveSink`, and a `LiveStatus` every
  ``status_interval_s``;
* on a disk error (disk full) stops recording and the session, keeping what was written.

It then finishes the pipeline and returns a `LiveResult` with the session summary data.
After a disk error the summary is that of what the file holds (read back and analysed
like `tracker summary` would), never of samples that did not reach the disk. ``stop``
set while the sensors are still being opened abandons the opening: nothing is recorded
and `StoppedBeforeRecording` is raised.

The sensors are BLE ones (`BleSession`), one phone alone (`tracker.devices.
phone_source.PhoneSession`, `tracker.devices.phyphox_source.PhyphoxSession`), or a phone
at one placement and a BLE sensor at the other (`tracker.devices.mixed_session.
MixedSession`).

Timelines (docs/frames.md): the session puts every sample on the recording's
timeline: real sensors' (and phones') device clocks shifted onto the session clock;
when every sensor is emulated, the source recording's own timeline (`SensorSources`;
an emulated phone then plays by the emulated BLE sensors' playback clock).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tracker.analysis.events import Event, Notice
from tracker.analysis.pipeline import Pipeline
from tracker.analysis.result import SessionResult
from tracker.analysis.settings import AnalysisSettings
from tracker.app.offline import analyse_recording
from tracker.devices.ble import BleSession, BleTransport, LinkEvent, ReconnectPolicy, StreamItem
from tracker.devices.mixed_session import MixedSession
from tracker.devices.phone_source import PhoneDevice, PhoneSession, phone_devices, the_phone
from tracker.devices.phyphox_source import PhyphoxSession
from tracker.devices.playback import PlaybackClock
from tracker.devices.sources import SensorSources
from tracker.devices.stream_tracking import StreamStats
from tracker.errors import AnalysisError, TrackerError
from tracker.live.cues import Cue, CuePolicy
from tracker.live.display import LiveStatus
from tracker.recording.fileio import OutputError
from tracker.recording.model import DeviceInfo, Gap, RawPacket, SessionNotes
from tracker.recording.native import RecordingWriter, read_native
from tracker.samples import SensorSamples
from tracker.units import LUMBAR

#: What `run_live` streams from: it has the `BleSession` shape.
LiveSource = BleSession | PhoneSession | PhyphoxSession | MixedSession

#: Why a session stopped.
STOP_REASONS = ("end", "duration", "interrupted", "disk_full")


class StoppedBeforeRecording(Exception):
    """``stop`` was set before every sensor streamed: nothing was recorded."""


@dataclass(frozen=True)
class LiveConfig:
    """What to stream and how.

    ``devices``: placement -> DEVICE string (BLE address or name, ``emulator:PATH``,
    ``emulator:KIND:PATH``, a phone: `tracker.devices.phone_source`; one phone at most).
    ``speed``: emulated devices run that many times faster than real time.
    ``duration_s``: stop after that much wall time (None: until the streams end or
    ``stop`` is set). ``cue_policy`` is stateful: give each session a new one.
    ``transport``, ``faults``: passed to `SensorSources` (tests inject emulator faults by
    placement); ``reconnect``, ``scan_timeout_s``: to `BleSession`.
    """

    devices: Mapping[str, str]
    output_path: Path
    settings: AnalysisSettings
    notes: SessionNotes = field(default_factory=SessionNotes)
    speed: float = 1.0
    duration_s: float | None = None
    cue_policy: CuePolicy = field(default_factory=CuePolicy)
    status_interval_s: float = 0.25
    #: The recording is written this often in recording time, and flushed to disk
    #: (fsync) this often in wall time: a crash loses less than this much recording.
    flush_interval_s: float = 1.0
    transport: BleTransport | None = None
    reconnect: ReconnectPolicy | None = None
    scan_timeout_s: float = 10.0
    faults: Mapping[str, Any] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    #: Passed to `PhoneSession` / `PhyphoxSession` when the device is a phone (port,
    #: host, tests: the emulated phone's ``emulator_options``).
    phone_options: Mapping[str, Any] = field(default_factory=dict)


class LiveSink:
    """Receives what a live session produces; override what you need (all no-ops).

    ``at_s`` arguments are seconds on the session clock (wall time since the session
    opened, the clock of `RawPacket.host_time_s`) at the moment of the call.
    """

    def opened(self, path: Path, devices: dict[str, DeviceInfo]) -> None:
        """The sensors stream and the recording at ``path`` is created."""

    def recording_started(self, start_s: float) -> None:
        """The recording's timeline starts at ``start_s`` (its main sensor's first sample,
        what people read as 0:00, as in the summary). Called once, with that sample."""

    def event(self, event: Event, at_s: float) -> None:
        """A pipeline event (also a `Notice` for every recorded gap)."""

    def cue(self, cue: Cue, at_s: float) -> None:
        """A cue to give the lifter now (bell, speech, screen)."""

    def link(self, event: LinkEvent) -> None:
        """A sensor connected, dropped, reconnected, finished."""

    def status(self, status: LiveStatus) -> None:
        """The display state, every ``status_interval_s`` and after each event."""

    def samples(self, block: SensorSamples, arrival_s: float, at_s: float) -> None:
        """A block about to be analysed; ``arrival_s``: session-clock arrival of the
        notification that carried its newest sample (benchmarks measure latency)."""


@dataclass
class LiveResult:
    """How a live session went.

    ``result`` is None when the pipeline could not analyse the session (then
    ``analysis_error`` says why, e.g. stopped before the sensors were calibrated).
    ``disk_error``: the one-line reason recording stopped early (what was written before
    stays readable); ``result`` then covers only what the file holds.
    ``samples_recorded``: samples per sensor in the file. When none arrived (and no
    disk error) the file is removed again: nothing was recorded.
    """

    path: Path
    stopped_by: str
    result: SessionResult | None
    analysis_error: str | None
    disk_error: str | None
    stats: dict[str, StreamStats]
    battery_percent: dict[str, int | None]
    samples_recorded: dict[str, int]
    gaps: list[Gap]
    cues_given: int
    cues_suppressed: int
    emulated_timeline: bool
    #: Requests a phone's receiver answered 4xx (wrong token, too large, bad body, ...).
    requests_rejected: int = 0

    @property
    def nothing_recorded(self) -> bool:
        return self.disk_error is None and not any(self.samples_recorded.values())


def in_time_order(block: SensorSamples, last_s: float | None) -> tuple[SensorSamples, int]:
    """``block`` without the samples whose time is not after every earlier one (``last_s``
    the newest time already taken), and how many were left out. A device clock that
    steps back a little, or a packet sent twice, would otherwise stop the recording (its
    times must increase) and the analysis."""
    t = block.time_s
    before = np.maximum.accumulate(np.concatenate(([-np.inf if last_s is None else last_s], t)))
    keep = t > before[:-1]
    if keep.all():
        return block, 0
    kept = SensorSamples(block.placement, t[keep], block.acc_mps2[keep], block.gyro_rad_s[keep])
    return kept, int(len(t) - np.count_nonzero(keep))


async def run_live(
    config: LiveConfig, sink: LiveSink | None = None, stop: asyncio.Event | None = None
) -> LiveResult:
    """Run one live session to its end (see the module docstring).

    Raises `tracker.errors.DeviceError` subclasses when a sensor cannot be opened (no
    adapter, not found, unknown kind), `InputError` / `OutputError` when the recording
    cannot be created; the recording is closed cleanly in every case once created.
    """
    stop = stop or asyncio.Event()
    if not phone_devices(config.devices):
        return await _run_sensors(config, sink, stop)
    if len(config.devices) == 1:
        return await _run_phone(config, sink, stop)
    return await _run_sensors(config, sink, stop, the_phone(config.devices))


async def _run_sensors(
    config: LiveConfig,
    sink: LiveSink | None,
    stop: asyncio.Event,
    phone: tuple[str, PhoneDevice] | None = None,
) -> LiveResult:
    """`run_live` with BLE sensors, and ``phone`` (its placement and device) at the
    other placement if given (`MixedSession`)."""
    clock = PlaybackClock(config.speed)
    ble_devices = {p: d for p, d in config.devices.items() if phone is None or p != phone[0]}
    async with SensorSources(
        ble_devices,
        speed=config.speed,
        transport=config.transport,
        faults=config.faults,
        clock=clock,
        on_source_timeline=phone is None or phone[1].is_emulator,
    ) as sources:
        ble = BleSession(
            sources.targets, reconnect=config.reconnect, scan_timeout_s=config.scan_timeout_s
        )
        session: BleSession | MixedSession = ble
        if phone is not None:
            # The emulated phone plays by the emulated sensors' clock: in step with them.
            phone_session = _phone_session(config, clock, on_source_timeline=sources.all_emulated)
            session = MixedSession(
                ble,
                phone_session,
                cancel_ble_open=not sources.all_emulated,
                source_timeline=sources.source_timeline,
            )
        # The session's clock starts when `open` begins: the same origin to well under 1 ms.
        origin_s = asyncio.get_running_loop().time()
        try:
            if not await _open_unless_stopped(session, stop, cancellable=not sources.all_emulated):
                raise StoppedBeforeRecording("stopped while the sensors were being opened")
            sources.start_playback()
            run = _Run(config, session, sink or LiveSink(), stop, origin_s, sources.source_timeline)
            result = await run.run()
            if isinstance(session, MixedSession):
                result.requests_rejected = session.requests_rejected
            return result
        finally:
            await session.close()


def _phone_session(
    config: LiveConfig, clock: PlaybackClock | None = None, *, on_source_timeline: bool = True
) -> PhoneSession | PhyphoxSession:
    """The session of ``config``'s phone: Sensor Logger pushing to us
    (`tracker.devices.phone_source`) or phyphox polled (`tracker.devices.phyphox_source`).
    ``clock``: the playback clock an emulated phone plays by (None: its own, from its
    start); ``on_source_timeline``: False when a real sensor shares the session."""
    _, phone = the_phone(config.devices)
    kind = PhyphoxSession if phone.is_phyphox else PhoneSession
    return kind(
        config.devices,
        speed=config.speed,
        clock=clock,
        on_source_timeline=on_source_timeline,
        **config.phone_options,
    )


async def _run_phone(config: LiveConfig, sink: LiveSink | None, stop: asyncio.Event) -> LiveResult:
    """`run_live` with a phone as the only sensor."""
    phone = _phone_session(config)
    origin_s = asyncio.get_running_loop().time()
    try:
        if not await _open_unless_stopped(phone, stop, cancellable=True):
            raise StoppedBeforeRecording("stopped while the phone receiver was being opened")
        run = _Run(config, phone, sink or LiveSink(), stop, origin_s, phone.source_timeline)
        result = await run.run()
        result.requests_rejected = phone.requests_rejected
        return result
    finally:
        await phone.close()


async def _open_unless_stopped(
    session: LiveSource, stop: asyncio.Event, *, cancellable: bool
) -> bool:
    """Open ``session``; False if ``stop`` is set first.

    With a real sensor the opening is then cancelled: a scan for a sensor that is not
    there takes up to the scan timeout. Emulated sensors open in well under a second,
    and bumble's GATT client does not survive a cancel in the middle of a request (the
    answer then lands on a cancelled future: InvalidStateError in a callback), so their
    opening is let finish before the session closes.
    """
    if stop.is_set():
        return False
    opening = asyncio.ensure_future(session.open())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((opening, stopping), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not opening.done():
            if cancellable:
                opening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait((opening,))
    if opening.cancelled():
        return False
    opening.result()  # (raises what the opening raised: no adapter, sensor not found)
    return not stop.is_set()


class _Run:
    def __init__(
        self,
        config: LiveConfig,
        session: LiveSource,
        sink: LiveSink,
        stop: asyncio.Event,
        origin_s: float,
        source_timeline: bool,
    ) -> None:
        self.config = config
        self.session = session
        self.sink = sink
        self.stop = stop
        self.loop = asyncio.get_running_loop()
        self.origin_s = origin_s
        self.policy = config.cue_policy
        self.pipeline = Pipeline(session.placements, config.settings)
        #: Samples are on the source recording's timeline (every sensor emulated).
        self.source_timeline = source_timeline
        self.status = LiveStatus(recording_path=str(config.output_path))
        self.writer: RecordingWriter | None = None
        self.samples_on_disk: dict[str, int] = {}
        self.stopped_by = "end"
        self.disk_error: str | None = None
        self.last_arrival_s: dict[str, float] = {}
        self.first_time_s: dict[str, float] = {}
        self.last_time_s: dict[str, float] = {}
        #: Samples left out per sensor because their time was not after the last one's.
        self.out_of_order: dict[str, int] = {}
        self.gaps: list[Gap] = []
        #: The sensor whose clock is the recording's timeline (DESIGN 4.3).
        self.main = LUMBAR if LUMBAR in session.placements else session.placements[0]

    def now_s(self) -> float:
        return self.loop.time() - self.origin_s

    async def run(self) -> LiveResult:
        config, session = self.config, self.session
        meta = {
            "recorded_by": "tracker live",
            "speed": config.speed,
            "devices": dict(config.devices),
            "timeline": "source recording" if self.source_timeline else "session clock",
            **config.meta,
        }
        self.writer = RecordingWriter(
            config.output_path,
            devices=session.devices,
            notes=config.notes,
            meta=meta,
            flush_interval_s=config.flush_interval_s,
        )
        try:
            self.sink.opened(config.output_path, session.devices)
            tasks = [
                self.loop.create_task(self._stopper()),
                self.loop.create_task(self._ticker()),
            ]
            try:
                async for item in session:
                    self._handle(item)
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if self.disk_error is None:
                result, analysis_error = self._finish()
        finally:
            self._close_writer()
        if self.disk_error is not None:
            result, analysis_error = self._analyse_saved()
        elif not any(self.samples_on_disk.values()):
            # Stopped before any sample arrived: a file that no command can read would
            # only claim that something was saved.
            with contextlib.suppress(OSError):
                config.output_path.unlink()
        self._publish_status()
        return LiveResult(
            path=config.output_path,
            stopped_by=self.stopped_by,
            result=result,
            analysis_error=analysis_error,
            disk_error=self.disk_error,
            stats=dict(session.stats),
            battery_percent=dict(session.battery_percent),
            samples_recorded={p: self.samples_on_disk.get(p, 0) for p in session.placements},
            gaps=self.gaps,
            cues_given=self.policy.given,
            cues_suppressed=self.policy.suppressed,
            emulated_timeline=self.source_timeline,
        )

    # -- stopping and ticking -------------------------------------------------------------
    async def _stopper(self) -> None:
        waiters: list[asyncio.Task[object]] = [self.loop.create_task(self.stop.wait())]
        if self.config.duration_s is not None:
            waiters.append(self.loop.create_task(asyncio.sleep(self.config.duration_s)))
        try:
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        if self.stopped_by == "end":
            self.stopped_by = "interrupted" if waiters[0] in done else "duration"
        # Ends the iteration in `run` once what already arrived is handed over.
        await self.session.close()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.config.status_interval_s)
            self._publish_status()
            if self.writer is not None:
                # Writes stall while a sensor is away: flush on time regardless.
                self._record(self.writer.flush_if_due)

    def _publish_status(self) -> None:
        self.status.elapsed_s = self.now_s()
        self.status.apply_stats(self.session.stats, self.session.battery_percent)
        self.sink.status(self.status)

    # -- recording --------------------------------------------------------------------------
    def _record(self, write: Any, *args: Any) -> None:
        """Run one writer call; a disk error stops recording and the session."""
        if self.writer is None:
            return
        try:
            write(*args)
        except OutputError as exc:
            self.disk_error = str(exc)
            self.stopped_by = "disk_full"
            self._close_writer()
            self.stop.set()

    def _close_writer(self) -> None:
        writer, self.writer = self.writer, None
        if writer is None:
            return
        try:
            writer.close()
        except OutputError as exc:
            self.disk_error = self.disk_error or str(exc)
            if self.stopped_by == "end":
                self.stopped_by = "disk_full"
        finally:
            self.samples_on_disk = writer.samples_on_disk

    def _analyse_saved(self) -> tuple[SessionResult | None, str | None]:
        """After a disk error: the analysis of what the file holds, and nothing more.

        The live pipeline has seen samples that never reached the disk (up to a flush
        interval of them); the file is read back and analysed as `tracker summary`
        would, which gives what the live pipeline would have given for just those
        samples (streaming equals batch).
        """
        if not any(self.samples_on_disk.values()):
            return None, "no samples reached the disk"
        try:
            saved = read_native(self.config.output_path, recover=True)
            return analyse_recording(saved, self.config.settings), None
        except TrackerError as exc:
            return None, f"the saved part could not be analysed: {exc}"

    # -- items ------------------------------------------------------------------------------
    def _handle(self, item: StreamItem) -> None:
        if isinstance(item, RawPacket):
            self.last_arrival_s[item.placement] = item.host_time_s
            if self.writer is not None:
                self._record(self.writer.write_raw, item)
        elif isinstance(item, SensorSamples):
            self._block(item)
        elif isinstance(item, Gap):
            self.gaps.append(item)
            if self.writer is not None:
                self._record(self.writer.write_gap, item)
            lost = f"{item.end_s - item.start_s:.1f} s lost ({item.reason})"
            self._events([Notice(item.start_s, f"{item.placement} sensor: {lost}")])
        elif isinstance(item, LinkEvent):
            self.status.apply_link(item)
            self.sink.link(item)

    def _block(self, block: SensorSamples) -> None:
        p = block.placement
        block, dropped = in_time_order(block, self.last_time_s.get(p))
        if dropped:
            if p not in self.out_of_order:
                self._events(
                    [
                        Notice(
                            self.last_time_s.get(p, 0.0),
                            f"{p} sensor: samples arrived with times at or before earlier "
                            "ones (a repeated or late packet) and were left out",
                        )
                    ]
                )
            self.out_of_order[p] = self.out_of_order.get(p, 0) + dropped
        if not len(block):
            return
        if self.writer is not None:
            self._record(self.writer.write_samples, block)
        if p not in self.first_time_s:
            self.first_time_s[p] = float(block.time_s[0])
            if p == self.main:
                self.status.recording_start_s = self.first_time_s[p]
                self.sink.recording_started(self.first_time_s[p])
        self.last_time_s[p] = float(block.time_s[-1])
        self.status.advance(self.last_time_s[p])
        self.sink.samples(block, self.last_arrival_s.get(p, self.now_s()), self.now_s())
        self._events(self.pipeline.feed(block))

    def _events(self, events: list[Event]) -> None:
        if not events:
            return
        for event in events:
            self.status.apply_event(event)
            self.sink.event(event, self.now_s())
            for cue in self.policy.update(event):
                at_s = self.now_s()
                self.status.apply_cue(cue, at_s)
                self.sink.cue(cue, at_s)
        self._publish_status()

    def _finish(self) -> tuple[SessionResult | None, str | None]:
        try:
            self._events(self.pipeline.finish())
        except AnalysisError as exc:
            return None, str(exc)
        pipe = self.pipeline
        main = self.main if self.main in self.first_time_s else next(iter(self.first_time_s), None)
        duration_s = (self.last_time_s[main] - self.first_time_s[main]) if main else 0.0
        start_s = self.first_time_s.get(main) if main else None
        return SessionResult.of(pipe, [], duration_s, start_s), None
