"""Live sessions from a phone (Sensor Logger's push) through the real HTTP stack on
127.0.0.1: the emulated phone against the analysis of its source, bad requests, pauses."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from live_helpers import assert_same_reps, run_virtual, write_source

from tracker.analysis.settings import AnalysisSettings
from tracker.app.live import LiveConfig, LiveResult, LiveSink, run_live
from tracker.app.offline import analyse_recording
from tracker.devices.ble import LinkEvent
from tracker.devices.phone_source import PhoneSession, decode_recorded, qr_text
from tracker.devices.sensor_logger_push import PROTOCOL, Convention
from tracker.errors import DeviceError
from tracker.recording.load import load_recording
from tracker.recording.model import Recording
from tracker.recording.native import iter_packets, read_native

#: The source's sample period: rep boundaries may differ by at most one.
SOURCE_PERIOD_S = 1 / 104.0


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_source(tmp_path_factory.mktemp("phone-source"))


class Collect(LiveSink):
    def __init__(self) -> None:
        self.links: list[LinkEvent] = []

    def link(self, event: LinkEvent) -> None:
        self.links.append(event)


def live_phone(
    source: Path, out: Path, sink: LiveSink, speed: float = 1.0, **emulator: object
) -> LiveResult:
    config = LiveConfig(
        {"lumbar": f"emulator:sensorlogger:{source}"},
        out,
        AnalysisSettings(),
        speed=speed,
        phone_options={"emulator_options": emulator},
    )

    async def body() -> LiveResult:
        async with asyncio.timeout(300):
            return await run_live(config, sink)

    return run_virtual(body())


def test_a_recording_pushed_by_the_emulated_phone_gives_the_reps_of_the_source(
    source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "phone.trk"
    sink = Collect()
    result = live_phone(source, out, sink, batch_s=1.0, gyro_factor=5, swap_every=4, repeat_every=5)
    assert result.stopped_by == "end" and result.result is not None
    src = load_recording(source)
    lumbar_only = Recording(sensors={"lumbar": src.sensors["lumbar"]})
    reference = analyse_recording(lumbar_only, AnalysisSettings())
    assert len(reference.reps) == 6
    assert_same_reps(result.result.reps, reference.reps, SOURCE_PERIOD_S)
    # The samples themselves came through: same times (to the ns the app resolves).
    recorded = read_native(out)
    got, want_s = recorded.sensors["lumbar"], src.sensors["lumbar"]
    assert len(got) == len(want_s)
    np.testing.assert_allclose(got.time_s, want_s.time_s, atol=1e-8)
    np.testing.assert_allclose(got.acc_mps2, want_s.acc_mps2, atol=1e-9)
    np.testing.assert_allclose(got.gyro_rad_s, want_s.gyro_rad_s, atol=1e-9)
    assert recorded.meta["timeline"] == "source recording"
    assert "Sensor Logger" in recorded.devices["lumbar"].model
    address = recorded.devices["lumbar"].address
    assert address is not None and address.startswith("http://127.0.0.1:")
    assert "/push" not in address  # the session's token stays out of the file
    # Every body is in the recording, repeats too, and decodes again to the same samples.
    packets = list(iter_packets(out))
    assert len(packets) == result.stats["lumbar"].packets > 20
    assert all(p.protocol == PROTOCOL for p in packets)
    again = decode_recorded(packets, "lumbar", Convention.ANDROID)
    assert again is not None and len(again) == len(got)
    np.testing.assert_allclose(again.time_s + want_s.time_s[0], got.time_s, atol=1e-8)
    assert result.requests_rejected == 0
    assert [e.event for e in sink.links][-1:] == ["finished"]


def test_a_pause_in_requests_is_a_recorded_gap_and_the_session_goes_on(
    source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pause.trk"
    sink = Collect()
    result = live_phone(source, out, sink, batch_s=1.0, pause=(8.0, 4.0))
    events = [e.event for e in sink.links]
    assert "disconnected" in events and "reconnected" in events
    assert len(result.gaps) == 1
    gap = result.gaps[0]
    t0 = float(load_recording(source).sensors["lumbar"].time_s[0])
    # The messages ending in [8 s, 12 s) were lost: the samples of 7 s to 11 s.
    assert 3.9 < gap.end_s - gap.start_s < 4.1 and 6.9 < gap.start_s - t0 < 7.1
    recorded = read_native(out)
    assert len(recorded.gaps) == 1
    assert recorded.sensors["lumbar"].time_s[-1] > gap.end_s + 5.0  # it went on


async def _post(port: int, raw: bytes) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        return status, (await reader.readexactly(length)).decode()
    finally:
        writer.close()


def _request(path: str, body: bytes, method: str = "POST", length: int | None = None) -> bytes:
    n = len(body) if length is None else length
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {n}\r\n\r\n".encode() + body


GOOD = json.dumps(
    {
        "messageId": 0,
        "payload": [
            {"name": n, "time": i * 10_000_000, "values": {"x": 0.0, "y": 9.8, "z": 0.0}}
            for n in ("accelerometer", "gravity", "gyroscope")
            for i in range(5)
        ],
    }
).encode()
NAN = GOOD.replace(b'"y": 9.8', b'"y": NaN', 1)


def test_bad_requests_are_answered_4xx_counted_and_survived() -> None:
    async def main() -> tuple[dict[str, int], list[int], list[object]]:
        session = PhoneSession({"lumbar": "phone:sensorlogger"}, host="127.0.0.1", port=0)
        await session.open()
        try:
            port, path = session.receiver.port, session.receiver.path
            assert session.url.endswith(f":{port}{path}")
            statuses = []
            for raw in (
                _request("/wrongtoken/push", GOOD),
                _request(path, GOOD, method="GET"),
                _request(path, b"x" * 10, length=session.receiver.max_body_bytes + 1),
                _request(path, b"{not json"),
                _request(path, NAN),
                b"HELLO\r\n\r\n",
                f"POST {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),  # no length
                _request(path, GOOD),
            ):
                statuses.append((await _post(port, raw))[0])
            # Faster than any batch period: the rate limit answers.
            for _ in range(session.receiver.max_burst + 5):
                statuses.append((await _post(port, _request(path, GOOD)))[0])
        finally:
            await session.close()
        items = [item async for item in session]
        counts = vars(session.counts)
        return counts, statuses, items

    counts, statuses, items = asyncio.run(main())
    assert statuses[:8] == [404, 405, 413, 400, 400, 400, 411, 200]
    assert 429 in statuses[8:]
    assert counts["wrong_path"] == 1 and counts["wrong_method"] == 1
    assert counts["too_large"] == 1 and counts["malformed"] == 2
    assert counts["rejected_body"] == 2 and counts["rate_limited"] >= 1
    # The refused bodies were still recorded (a fixed decoder can read them later).
    raw = [i for i in items if hasattr(i, "payload")]
    assert any(getattr(i, "payload", None) == NAN for i in raw)
    assert any(type(i).__name__ == "SensorSamples" for i in items)


def test_no_request_within_the_wait_warns_and_suggests_the_hotspot() -> None:
    async def main() -> list[object]:
        session = PhoneSession(
            {"lumbar": "phone:sensorlogger-ios"}, host="127.0.0.1", port=0, warn_after_s=2.0
        )
        await session.open()
        await asyncio.sleep(3.0)
        await session.close()
        return [item async for item in session]

    items = run_virtual(main())
    links = [i for i in items if isinstance(i, LinkEvent)]
    assert [e.event for e in links] == ["listening", "waiting"]
    assert "/push" in links[0].detail and "hotspot" in links[1].detail


def test_a_phone_session_takes_the_phone_and_leaves_a_ble_sensor_to_its_session(
    source: Path,
) -> None:
    # (tests/test_mixed_live.py streams the two together)
    session = PhoneSession({"lumbar": "phone:sensorlogger", "sacrum": f"emulator:{source}"})
    assert session.placements == ("lumbar",)
    with pytest.raises(DeviceError, match="one phone per session"):
        PhoneSession({"lumbar": "phone:sensorlogger", "sacrum": "phone:sensorlogger-ios"})


def test_the_url_is_drawn_as_a_qr_code_when_the_extra_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn = qr_text("http://192.168.1.20:8765/abc/push")
    assert drawn is not None
    lines = drawn.splitlines()
    assert len(lines) > 10 and len({len(line) for line in lines}) == 1  # a square block
    assert set(drawn) <= {"█", "▀", "▄", " ", "\xa0", "\n"}  # (qrcode pads with no-break spaces)
    monkeypatch.setitem(sys.modules, "qrcode", None)  # as if not installed
    assert qr_text("http://x/push") is None
