"""`tracker live` and `tracker scan`: stream sensors over BLE (or emulated ones)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sys
from pathlib import Path
from typing import Any, TextIO

import click

from tracker import stop_signals
from tracker.analysis.events import Event, FlagRaised
from tracker.analysis.result import SessionResult
from tracker.app.live import (
    LiveConfig,
    LiveResult,
    LiveSink,
    StoppedBeforeRecording,
    run_live,
)
from tracker.app.profile import resolve_settings
from tracker.cli import cli, one_line, terminal_safe
from tracker.cli.analyse import history_options, limit_options
from tracker.devices.ble import BleTransport, LinkEvent
from tracker.devices.phone_source import DEFAULT_PORT, phone_devices, qr_text
from tracker.errors import InputError
from tracker.live.cues import Cue, CuePolicy
from tracker.live.display import LiveStatus, status_lines
from tracker.live.speech import Speaker, find_speech_command
from tracker.recording.model import DeviceInfo, SessionNotes
from tracker.report.event_lines import EventLines
from tracker.samples import SensorSamples

DEMO_RECORDING = Path("recordings") / "swing_dual.trk"


def demo_recording_path() -> Path:
    """The bundled dual-sensor demo recording (next to the package, or in the cwd)."""
    import tracker

    candidates = [Path(tracker.__file__).resolve().parent.parent / DEMO_RECORDING, DEMO_RECORDING]
    for path in candidates:
        if path.is_file():
            return path
    raise InputError(
        f"the demo recording {DEMO_RECORDING} is missing (looked in "
        f"{', '.join(str(c.parent) for c in candidates)}); create it with `tracker simulate "
        f"--preset swing_dual -o {DEMO_RECORDING}` or stream your own with "
        "--lumbar emulator:PATH --sacrum emulator:PATH"
    )


def default_output_path() -> Path:
    return Path(f"session-{dt.datetime.now():%Y%m%d-%H%M%S}.trk")


def _transport(ctx: click.Context) -> BleTransport | None:
    # Tests (and embedders) pass a bleak transport in the click context object.
    obj = ctx.find_root().obj
    return obj.get("ble_transport") if isinstance(obj, dict) else None


class _TerminalSink(LiveSink):
    """Renders a live session: event and cue lines, and (on a terminal, without --quiet)
    a status block redrawn in place below them."""

    def __init__(self, *, quiet: bool, cue_mode: str, out: _Terminal) -> None:
        self.out = out
        self.redraw = not quiet and out.isatty()
        self._drawn = 0
        self.speaker: Speaker | None = None
        self.bell = cue_mode != "none"
        self.notes: list[str] = []
        #: Every line is stamped with the time since the recording started.
        self.lines = EventLines()
        if cue_mode == "speech":
            command = find_speech_command()
            if command is None:
                self.notes.append(
                    "no text-to-speech program found (espeak-ng, espeak, say, spd-say); "
                    "cues use the terminal bell"
                )
            else:
                self.speaker, self.bell = Speaker(command), False

    def _line(self, text: str) -> None:
        self._clear()
        self.out.echo(text)

    def _clear(self) -> None:
        if self._drawn:
            # Move up over the status block and clear it, so lines scroll above it.
            self.out.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def opened(self, path: Path, devices: dict[str, DeviceInfo]) -> None:
        err = _Terminal(sys.stderr)
        for p, d in devices.items():
            rate = f"{d.sample_rate_hz:g} Hz" if d.sample_rate_hz else "rate unknown"
            err.echo(f"{p}: {d.model} ({d.protocol}, {d.address}), {rate}")
        err.echo(f"Recording to {path}")
        for note in self.notes:
            err.echo(f"Note: {note}")

    def recording_started(self, start_s: float) -> None:
        self.lines.start_s = start_s

    def samples(self, block: SensorSamples, arrival_s: float, at_s: float) -> None:
        if len(block):
            self.lines.advance(float(block.time_s[-1]))

    def event(self, event: Event, at_s: float) -> None:
        if isinstance(event, FlagRaised):
            return  # crossings reach the lifter as cues (below), bounded by the policy
        # Lines scroll above the redrawn status block (or make up the --quiet output).
        self._line(self.lines.line(event))

    def cue(self, cue: Cue, at_s: float) -> None:
        if self.speaker is not None:
            self.speaker.say(cue.spoken)
        elif self.bell:
            self.out.write("\a")
        self._line(f"{self.lines.stamp(cue.time_s)}  CUE {cue.text}")
        self.out.flush()

    def link(self, event: LinkEvent) -> None:
        if event.event not in ("connected", "finished"):
            detail = f": {event.detail}" if event.detail else ""
            # Stamped where the recording is when it happened: a dropped sensor's stream
            # stops there (the wall time is in the status block).
            self._line(f"{self.lines.stamp()}  {event.placement} {event.event}{detail}")
        urls = [w for w in event.detail.split() if w.startswith("http://")]
        if event.event == "listening" and urls and (qr := qr_text(urls[0])):
            self._line(qr)  # the phone's camera reads the URL off the screen

    def status(self, status: LiveStatus) -> None:
        if not self.redraw:
            return
        self._clear()
        lines = status_lines(status)
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()
        self._drawn = len(lines)

    def close(self) -> None:
        if self.speaker is not None:
            self.speaker.close()


def _report(result: LiveResult, limits_source: str, requests: _StopRequests) -> None:
    from tracker.report.summary import format_summary, summary_dict

    out, err = _Terminal(sys.stdout), _Terminal(sys.stderr)
    recorded = ", ".join(f"{n} {p} samples" for p, n in result.samples_recorded.items())
    ending = _ending(result, requests)
    if result.disk_error is None:
        err.echo(f"Stopped ({ending}). Saved {result.path} ({recorded}).")
    else:
        err.echo(
            f"Stopped ({ending}). {result.path} holds {recorded}, all that reached the "
            "disk; the summary covers only those."
        )
    for p, s in result.stats.items():
        err.echo(
            f"{p}: {s.packets} packets, {s.lost_packets} lost, {s.malformed} malformed, "
            f"{s.disconnects} disconnects, {s.reconnects} reconnects"
        )
    if result.requests_rejected:
        err.echo(f"{result.requests_rejected} requests to the phone receiver refused (4xx)")
    if result.cues_suppressed:
        err.echo(f"{result.cues_given} cues given, {result.cues_suppressed} held back by the bound")
    if result.result is None:
        err.echo(f"No summary: {result.analysis_error}")
        return
    out.echo("")
    out.echo(format_summary(summary_dict(result.result), limits_source))


def _ending(result: LiveResult, requests: _StopRequests) -> str:
    return {
        "end": "the streams ended",
        "duration": "the duration was reached",
        "interrupted": requests.why if requests.signals else "interrupted",
        "disk_full": "the disk is full",
    }[result.stopped_by]


class _Terminal:
    """A text stream that goes quiet once writing to it fails: after SIGHUP the terminal
    is gone (writes fail with EIO), and that must not end the session before its
    recording is closed, nor keep its history entry from being added."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        self._try(self._stream.write, text)
        return len(text)

    def flush(self) -> None:
        self._try(self._stream.flush)

    def isatty(self) -> bool:
        return self._stream.isatty()

    def echo(self, text: str) -> None:
        self.write(text + "\n")
        self.flush()

    def _try(self, call: Any, *args: Any) -> None:
        if not self.gone:
            try:
                call(*args)
            except OSError:
                self.gone = True


class _StopRequests:
    """The stop signals of one `tracker live` (`tracker.stop_signals`), handed to its
    event loop: each sets the session's stop event, however early it came."""

    def __init__(self) -> None:
        self.signals: list[int] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def __call__(self, signum: int) -> None:
        # Called between two Python steps of whatever runs (`stop_signals.stop_requests`):
        # only note the signal and wake the loop, which sets the event itself.
        self.signals.append(signum)
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # (the loop has closed meanwhile)
                self._loop.call_soon_threadsafe(self._stop.set)

    async def run(self, config: LiveConfig, sink: LiveSink) -> LiveResult:
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        if self.signals:  # (came before the loop ran)
            self._stop.set()
        return await run_live(config, sink, self._stop)

    @property
    def why(self) -> str:
        return stop_signals.STOP_SIGNALS.get(self.signals[0], f"signal {self.signals[0]}")


@cli.command()
@click.option("--lumbar", metavar="DEVICE", help="Sensor over T12-L1 (DEVICE: see above).")
@click.option("--sacrum", metavar="DEVICE", help="Sensor over S1-S2.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Native recording to write [default: session-YYYYmmdd-HHMMSS.trk here].",
)
@click.option(
    "--duration",
    "duration_s",
    type=click.FloatRange(min=0, min_open=True),
    metavar="S",
    help="Stop after S seconds (wall time).",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    metavar="X",
    help="Stream emulated devices X times faster than real time.",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Print events as lines instead of the live display."
)
@click.option(
    "--demo",
    is_flag=True,
    help=f"Stream the bundled dual-sensor recording ({DEMO_RECORDING}) through emulated "
    "sensors (needs the 'emulator' extra).",
)
@click.option(
    "--cue",
    "cue_mode",
    type=click.Choice(["bell", "speech", "none"]),
    default="bell",
    show_default=True,
    help="How a flag is cued: terminal bell, spoken (espeak/say if installed), or not at all.",
)
@click.option(
    "--cue-after-rep",
    is_flag=True,
    help="Cue when the rep is back at its rest position, not at the crossing mid-rep.",
)
@click.option(
    "--max-cues-per-set",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Bound on cues per set (0: no bound), so the cue never becomes noise.",
)
@click.option(
    "--scan-timeout",
    "scan_timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    metavar="S",
    help="How long to look for each BLE device.",
)
@click.option(
    "--phone-port",
    type=click.IntRange(1, 65535),
    metavar="PORT",
    help=f"Port the phone receiver listens on (a phone DEVICE) [default: {DEFAULT_PORT}; "
    "an emulated phone takes a free one].",
)
@history_options
@limit_options
@click.pass_context
def live(
    ctx: click.Context,
    lumbar: str | None,
    sacrum: str | None,
    output: Path | None,
    duration_s: float | None,
    speed: float,
    quiet: bool,
    demo: bool,
    cue_mode: str,
    cue_after_rep: bool,
    max_cues_per_set: int,
    scan_timeout_s: float,
    phone_port: int | None,
    history: bool,
    db_path: Path | None,
    flexion_limit: float | None,
    extension_limit: float | None,
    exercise: str | None,
    profile_path: Path | None,
    no_profile: bool,
) -> None:
    """Stream one or two sensors, record them, count reps and cue flags as they happen.

    DEVICE is a BLE address or advertised name (see `tracker scan`), or an emulated
    sensor replaying a recording: emulator:PATH (our firmware profile) or
    emulator:KIND:PATH (KIND: tracker_imu, polar_pmd, movesense, movella_dot), or a
    phone running Sensor Logger's HTTP push: phone:sensorlogger (Android, or iOS with
    "Standardise Units & Frames" on), phone:sensorlogger-ios, or an emulated one
    emulator:sensorlogger:PATH; it prints the URL to enter in the app. Or phyphox with
    remote access on, running the tracker's experiment: phone:phyphox@HOST[:PORT]
    (the address phyphox shows; port 8080 by default), or emulator:phyphox:PATH. One
    phone per session; the other placement may be a BLE sensor. Ctrl-C
    (or SIGTERM, SIGHUP), the end of emulated streams or --duration closes the recording and prints
    the session summary. If the recording cannot be written (disk full), the session
    stops, the summary covers what the file holds, and the exit code is 1.
    The session is added to your history (not for --demo).
    Flags are technique cues, not injury predictions.
    """
    devices = {p: d for p, d in (("lumbar", lumbar), ("sacrum", sacrum)) if d}
    if demo:
        if devices:
            raise click.UsageError("--demo streams its own recording; drop --lumbar/--sacrum")
        path = demo_recording_path()
        devices = {"lumbar": f"emulator:{path}", "sacrum": f"emulator:{path}"}
    if not devices:
        raise click.UsageError("name a sensor with --lumbar and/or --sacrum DEVICE, or use --demo")
    phones = phone_devices(devices)
    if phone_port is not None and not any(not p.is_phyphox for p in phones.values()):
        raise click.UsageError(
            "--phone-port is for a phone DEVICE that pushes (phone:sensorlogger... or "
            "emulator:sensorlogger:...); phyphox's port goes in its DEVICE "
            "(phone:phyphox@HOST:PORT)"
        )
    settings, source = resolve_settings(
        flexion_limit, extension_limit, exercise, profile_path, no_profile
    )
    config = LiveConfig(
        devices=devices,
        output_path=output or default_output_path(),
        settings=settings,
        notes=SessionNotes(exercise=settings.exercise),
        speed=speed,
        duration_s=duration_s,
        cue_policy=CuePolicy(
            "after_rep" if cue_after_rep else "now", max_per_set=max_cues_per_set or None
        ),
        transport=_transport(ctx),
        scan_timeout_s=scan_timeout_s,
        phone_options={} if phone_port is None else {"port": phone_port},
        meta={"limits_source": source},
    )
    sink = _TerminalSink(quiet=quiet, cue_mode=cue_mode, out=_Terminal(sys.stdout))
    requests = _StopRequests()
    try:
        with stop_signals.stop_requests(requests):
            result = asyncio.run(requests.run(config, sink))
    except StoppedBeforeRecording:
        _Terminal(sys.stderr).echo(
            f"Stopped ({requests.why}) before the sensors streamed; nothing was recorded."
        )
        # The shell's convention for a command ended by a signal: 128 + its number.
        ctx.exit(128 + requests.signals[0])
    finally:
        sink.close()
    if result.nothing_recorded:
        _Terminal(sys.stderr).echo(
            f"Stopped ({_ending(result, requests)}) before any samples arrived; "
            "nothing was recorded."
        )
        if requests.signals:
            ctx.exit(128 + requests.signals[0])
        return
    _report(result, source, requests)
    if history and not demo and result.result is not None:
        _add_to_history(db_path, result.result, result.path)
    if result.disk_error is not None:
        raise click.ClickException(one_line(result.disk_error))


def _add_to_history(db_path: Path | None, session: SessionResult, path: Path) -> None:
    from tracker.history import try_record_session

    warning = try_record_session(db_path, session, path)
    if warning is not None:
        click.echo(f"Warning: history not updated: {warning}", err=True)


@cli.command("phyphox-experiment")
@click.option(
    "--serve",
    is_flag=True,
    help="Serve it on this machine and draw the QR code that loads it in phyphox; "
    "ends once the phone has fetched it.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port to serve on with --serve (0: any free one).",
)
def phyphox_experiment(serve: bool, port: int) -> None:
    """Where the phyphox experiment for `tracker live --lumbar phone:phyphox@HOST` is
    (accelerometer with g and gyroscope at the fastest rate); with --serve, a URL and
    QR code that load it: in phyphox tap +, "Scan QR code"."""
    from tracker.devices.phone_source import lan_address
    from tracker.devices.phyphox_experiment import EXPERIMENT_PATH, URL_PATH, serve_experiment

    click.echo(str(EXPERIMENT_PATH))
    if not serve:
        return
    err = _Terminal(sys.stderr)

    def listening(bound: int) -> None:
        url = f"http://{lan_address()}:{bound}{URL_PATH}"
        err.echo(f"Serving it at {url} until the phone fetches it (Ctrl-C to stop)")
        if (qr := qr_text(url)) is not None:
            err.echo(qr)

    async def main() -> bool:
        return await serve_experiment("0.0.0.0", port, listening, asyncio.Event())

    try:
        fetched = asyncio.run(main())
    except OSError as exc:
        raise click.ClickException(
            one_line(f"cannot listen on port {port} ({exc.strerror or exc}); try another --port")
        ) from exc
    if fetched:
        err.echo("The phone fetched it: open it in phyphox, enable remote access in its menu.")


@cli.command()
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    metavar="S",
    help="How long to listen for advertisements.",
)
@click.option("--all", "show_all", is_flag=True, help="Also list devices that are not supported.")
@click.pass_context
def scan(ctx: click.Context, timeout_s: float, show_all: bool) -> None:
    """List supported sensors nearby: kind, name, address and signal strength (RSSI)."""
    from tracker.devices.ble import scan as ble_scan
    from tracker.devices.supported import supported_kinds_text

    found = asyncio.run(
        ble_scan(timeout_s, transport=_transport(ctx), include_unsupported=show_all)
    )
    if not found:
        click.echo(
            f"No supported devices found in {timeout_s:g} s (supported: {supported_kinds_text()})."
        )
        return
    rows: list[tuple[Any, ...]] = [("KIND", "NAME", "ADDRESS", "RSSI")]
    rows += [
        # A name is whatever a nearby device advertises: shown escaped.
        (
            d.kind or "-",
            terminal_safe(d.name or "-"),
            terminal_safe(d.address),
            "-" if d.rssi is None else f"{d.rssi} dBm",
        )
        for d in found
    ]
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    for r in rows:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
