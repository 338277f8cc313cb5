"""`tracker live` in a process of its own, stopped by signals: Ctrl-C, SIGTERM and SIGHUP
end it cleanly at any moment, and SIGKILL loses less than a second of recording at any
speed. Emulated sensors only (no radio)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from live_helpers import write_source
from process_helpers import file_size_limit

from tracker import stop_signals
from tracker.analysis.settings import AnalysisSettings
from tracker.app.live import LiveConfig, LiveSink, StoppedBeforeRecording, run_live
from tracker.recording.native import read_native

#: Longest a stopped session may take to close its recording and summarise.
STOP_TIMEOUT_S = 20.0
RECORDING_TO = "Recording to "


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_source(tmp_path_factory.mktemp("live_signals"))


def start_live(source: Path, out: Path, speed: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "tracker", "live"),
            *("--lumbar", f"emulator:{source}", "--sacrum", f"emulator:{source}"),
            *("--speed", str(speed), "-o", str(out), "--quiet", "--no-profile"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(stream: object, prefix: str) -> str:
    for line in stream:  # type: ignore[attr-defined]
        if line.startswith(prefix):
            return line
    raise AssertionError(f"no line starting with {prefix!r}")


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=STOP_TIMEOUT_S)
    return proc.returncode, out, err


def assert_clean(err: str) -> None:
    assert "Traceback" not in err and "Exception ignored" not in err, err


@pytest.mark.parametrize(
    ("signum", "why"),
    [
        (signal.SIGINT, "Ctrl-C"),
        (signal.SIGTERM, "SIGTERM: the process was asked to stop"),
        (signal.SIGHUP, "SIGHUP: the terminal was closed"),
    ],
)
def test_stop_signals_close_the_recording_and_print_the_summary(
    source: Path, tmp_path: Path, signum: int, why: str
) -> None:
    out = tmp_path / "stopped.trk"
    proc = start_live(source, out, speed=2.0)  # the source streams for ~10 s
    wait_for_line(proc.stderr, RECORDING_TO)
    time.sleep(0.5)
    proc.send_signal(signum)
    code, stdout, stderr = finish(proc)
    assert_clean(stderr)
    # The session ended as asked, which is how a live session is meant to end.
    assert code == 0, stderr
    kept = read_native(out)
    assert kept.report.clean_close  # the end record was written
    n = {p: len(kept.sensors[p]) for p in ("lumbar", "sacrum")}
    assert 0 < n["lumbar"] < 2000 and 0 < n["sacrum"] < 2000
    assert (
        f"Stopped ({why}). Saved {out} ({n['lumbar']} lumbar samples, "
        f"{n['sacrum']} sacrum samples)."
    ) in stderr
    assert "lumbar: " in stderr and " packets, " in stderr  # the link summary
    assert "No summary: " in stderr or "Total: " in stdout


#: Without /proc (not Linux): how long a start-up takes to reach its own code.
START_UP_GUESS_S = 0.2


def holds_stop_signals(proc: subprocess.Popen[str], started_s: float) -> bool:
    """Whether ``proc`` catches SIGTERM (Linux: /proc/PID/status), which it does from the
    first line of its own code on (`tracker.stop_signals.hold`)."""
    status = Path(f"/proc/{proc.pid}/status")
    if not status.exists():
        return time.monotonic() - started_s > START_UP_GUESS_S
    fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
    return bool(int(fields["SigCgt"], 16) & (1 << (signal.SIGTERM - 1)))


@dataclass
class EarlyRun:
    delay_s: float
    out: Path
    proc: subprocess.Popen[str]
    started_s: float
    held_at_s: float | None = None
    signalled: bool = False


#: Ctrl-C this long after the signals are held: in the imports of the command line
#: (most of the first half second), the event loop's start, the emulators' start-up
#: and connection, the first samples.
EARLY_DELAYS_S = (0.0, 0.1, 0.25, 0.4, 0.55, 0.8)
TRIES = 2
#: Processes started at once: each start-up is mostly CPU (imports), on few cores.
AT_ONCE = 3


def test_ctrl_c_in_the_first_second_is_never_lost_nor_a_traceback(
    source: Path, tmp_path: Path
) -> None:
    plan = [d for _ in range(TRIES) for d in EARLY_DELAYS_S]
    runs: list[tuple[EarlyRun, int, str]] = []
    for first in range(0, len(plan), AT_ONCE):
        batch = []
        for k, delay_s in enumerate(plan[first : first + AT_ONCE], start=first):
            out = tmp_path / f"early-{k}.trk"
            # At real time the session would stream for ~20 s: one that swallowed the
            # Ctrl-C would not stop in time.
            batch.append(EarlyRun(delay_s, out, start_live(source, out, 1.0), time.monotonic()))
        deadline_s = time.monotonic() + STOP_TIMEOUT_S
        while not all(r.signalled for r in batch):
            assert time.monotonic() < deadline_s, "a process never took its stop signals"
            for r in batch:
                if r.held_at_s is None and holds_stop_signals(r.proc, r.started_s):
                    r.held_at_s = time.monotonic()
                if r.held_at_s is not None and not r.signalled:
                    if time.monotonic() >= r.held_at_s + r.delay_s:
                        r.proc.send_signal(signal.SIGINT)
                        r.signalled = True
            time.sleep(0.002)
        for r in batch:
            code, _stdout, stderr = finish(r.proc)
            runs.append((r, code, stderr))
    recorded = 0
    for r, code, stderr in runs:
        out, delay_s = r.out, r.delay_s
        assert_clean(stderr)
        if out.exists():
            # Stopped once streaming: the recording is whole and the session summarised.
            recorded += 1
            assert code == 0, (delay_s, stderr)
            kept = read_native(out)
            assert kept.report.clean_close
            saved = ", ".join(f"{len(kept.sensors[p])} {p} samples" for p in kept.placements)
            assert f"Stopped (Ctrl-C). Saved {out} ({saved})." in stderr
        else:
            # Stopped before: said so, in one line, with the shell's code for Ctrl-C.
            assert code == 130, (delay_s, stderr)
            assert stderr.splitlines()[-1] in (
                "Stopped (Ctrl-C) before the sensors streamed; nothing was recorded.",
                "Stopped (Ctrl-C) before any samples arrived; nothing was recorded.",
            )
    # (at 0 s the command line is still being imported)
    assert recorded < len(runs)


CHILD = """
import asyncio, sys
from pathlib import Path
from tracker.analysis.settings import AnalysisSettings
from tracker.app.live import LiveConfig, LiveSink, run_live

source, out, speed = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])

class Received(LiveSink):
    # Each block's newest sample, once the recording writer has it.
    def samples(self, block, arrival_s, at_s):
        print(block.placement, repr(float(block.time_s[-1])), flush=True)

devices = {"lumbar": f"emulator:{source}", "sacrum": f"emulator:{source}"}
asyncio.run(run_live(LiveConfig(devices, out, AnalysisSettings(), speed=speed), Received()))
"""

#: The writer's flush interval: the most recording a crash may lose.
FLUSH_INTERVAL_S = 1.0


@pytest.mark.parametrize("kill_after_s", [0.5, 1.2])
def test_sigkill_at_ten_times_real_time_loses_less_than_a_second(
    source: Path, tmp_path: Path, kill_after_s: float
) -> None:
    out = tmp_path / "killed.trk"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(source), str(out), "10"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # streaming has begun
    time.sleep(kill_after_s)  # of the ~2 s the source streams at 10x
    proc.send_signal(signal.SIGKILL)
    rest, _ = proc.communicate(timeout=STOP_TIMEOUT_S)
    received: dict[str, float] = {}
    for line in (first + rest).splitlines(keepends=True):
        if not line.endswith("\n"):
            continue  # (the kill cut this line short while it was being printed)
        placement, time_s = line.split()
        received[placement] = float(time_s)
    assert set(received) == {"lumbar", "sacrum"}
    kept = read_native(out)
    assert not kept.report.clean_close  # (killed, not ended)
    for p, newest_s in received.items():
        on_disk = kept.sensors[p]
        assert len(on_disk) > 0
        lost_s = newest_s - float(on_disk.time_s[-1])
        assert lost_s < FLUSH_INTERVAL_S, (p, lost_s)


# --- the signals held from the program's first line (in this process) -----------------


def test_a_held_signal_is_only_noted_and_delivered_on_release() -> None:
    before = {s: signal.getsignal(s) for s in stop_signals.STOP_SIGNALS}
    stop_signals.hold()
    try:
        signal.raise_signal(signal.SIGINT)  # no KeyboardInterrupt in the middle of things
        with pytest.raises(KeyboardInterrupt):
            # What any command but `live` gets: Python's own Ctrl-C, delivered now.
            stop_signals.release()
    finally:
        stop_signals.release()
    assert {s: signal.getsignal(s) for s in stop_signals.STOP_SIGNALS} == before


def test_stop_requests_pass_on_what_came_before_and_during() -> None:
    before = {s: signal.getsignal(s) for s in stop_signals.STOP_SIGNALS}
    got: list[int] = []
    stop_signals.hold()
    signal.raise_signal(signal.SIGTERM)  # noted, not the end of this process
    with stop_signals.stop_requests(got.append):
        assert got == [signal.SIGTERM]
        signal.raise_signal(signal.SIGHUP)
        signal.raise_signal(signal.SIGINT)
    assert got == [signal.SIGTERM, signal.SIGHUP, signal.SIGINT]
    assert {s: signal.getsignal(s) for s in stop_signals.STOP_SIGNALS} == before


def test_a_stop_before_the_sensors_stream_records_nothing(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "never.trk"
    stop = asyncio.Event()
    stop.set()
    devices = {"lumbar": f"emulator:{source}", "sacrum": f"emulator:{source}"}
    config = LiveConfig(devices, out, AnalysisSettings(), speed=1.0)
    with pytest.raises(StoppedBeforeRecording):
        asyncio.run(run_live(config, LiveSink(), stop))
    assert not out.exists()


#: A file size limit that the recording passes within a few seconds of streaming.
LIVE_FILE_SIZE_LIMIT_BYTES = 100_000


def test_a_file_size_limit_stops_the_session_like_a_full_disk(source: Path, tmp_path: Path) -> None:
    # No monkeypatch: the system refuses the write (and sends SIGXFSZ, which Python
    # ignores, so that the write fails with EFBIG instead of the process ending).
    out = tmp_path / "limited.trk"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "tracker", "live", "--lumbar", f"emulator:{source}"),
            *("--speed", "25", "-o", str(out), "--quiet", "--no-profile"),
        ],
        capture_output=True,
        text=True,
        preexec_fn=file_size_limit(LIVE_FILE_SIZE_LIMIT_BYTES),
        timeout=STOP_TIMEOUT_S,
    )
    assert_clean(done.stderr)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"Error: writing recording {out} failed: File too large (the file would exceed the "
        "largest file size allowed here); what was written before stays readable"
    )
    kept = read_native(out)
    assert out.stat().st_size <= LIVE_FILE_SIZE_LIMIT_BYTES
    n = len(kept.sensors["lumbar"])
    assert 0 < n < 2000
    assert f"{out} holds {n} lumbar samples, all that reached the disk" in done.stderr
