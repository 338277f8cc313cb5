"""The analysis pipeline: sample blocks in, events out. Pure and stateful.

    pipe = Pipeline(placements=("lumbar", "sacrum"), settings=AnalysisSettings())
    for block in blocks:          # SensorSamples of any size, any placement order
        for event in pipe.feed(block):
            ...
    events = pipe.finish()

Every decision is taken at a sample index determined by the data (never by where a block
ends), so feeding a recording in one block or in many small ones gives the same events.
Frames and angles: docs/frames.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

import numpy as np

from tracker.analysis.events import (
    CalibrationDone,
    CycleDecision,
    Event,
    FlagRaised,
    Notice,
    RepCompleted,
    RepMetrics,
    SetEnded,
    SetStarted,
    SetSummary,
)
from tracker.analysis.exercises import Evidence
from tracker.analysis.metrics import rep_metrics, set_summary
from tracker.analysis.segmentation import (
    BOTTOM_WINDOW_S,
    LUMBAR_SENSOR_RADIUS_M,
    Cycle,
    OpenSet,
    RepSegmenter,
)
from tracker.analysis.settings import AnalysisSettings
from tracker.analysis.turning import TurningPoint, TurningPointTracker
from tracker.errors import AnalysisError
from tracker.samples import SensorSamples
from tracker.signal.calibration import UnusableSensorError
from tracker.signal.chain import SensorChain
from tracker.signal.timeline import Timeline
from tracker.units import LUMBAR, PLACEMENTS, SACRUM

#: Re-arm a crossing cue once the angle is back this far inside the limit.
CUE_REARM_DEG = 3.0
#: First look-ahead when searching for the next cue crossing (doubles until found).
CUE_LOOKAHEAD_SAMPLES = 512
#: A longer block (a whole recording fed at once) goes to its sensor's chain in pieces
#: of this many samples, the timeline following each piece: the intermediate arrays of
#: resampling and orientation stay cache-sized instead of recording-sized, and a chain's
#: raw history is dropped as soon as its mounting is final (`SensorChain`). Events are
#: the same for any split; they are still produced once, after the whole block.
FEED_PIECE_SAMPLES = 2**14


def _pieces(block: SensorSamples, n: int) -> Iterator[SensorSamples]:
    """``block`` in consecutive pieces of at most ``n`` samples (itself if not longer)."""
    if len(block) <= n:
        yield block
        return
    for a in range(0, len(block), n):
        yield block.slice(a, a + n)


class Pipeline:
    def __init__(self, placements: Iterable[str], settings: AnalysisSettings) -> None:
        placements = tuple(p for p in PLACEMENTS if p in set(placements))
        if not placements:
            raise AnalysisError("no sensor placements given; expected lumbar and/or sacrum")
        self.settings = settings
        self.chains = {
            p: SensorChain(p, settings.max_gap_s, settings.calibration) for p in placements
        }
        self.timeline = Timeline(self.chains, settings.align_window_s, settings.max_clock_lag_s)
        self.dual = self.timeline.dual
        if self.dual:
            self.chains[SACRUM].follower = True
        self._seg: RepSegmenter | None = None
        self._turns: TurningPointTracker | None = None
        self._decim = 1
        self._next_seg = 0  # next timeline index for the segmentation loop
        self._next_cue = 0
        self._flex_armed = True
        self._ext_armed = True
        #: An upright turn confirmed before the samples that tell a bottom from
        #: standing were in, and the index it waits for (`_add_turn`).
        self._pending: TurningPoint | None = None
        self._pending_until = 0
        self._bottom_wait = 0
        self.set_no = 0
        self.set_reps: list[RepMetrics] = []
        self.set_exercise = ""
        self.set_evidence: tuple[Evidence, ...] = ()
        self.all_reps: list[RepMetrics] = []
        self.summaries: list[SetSummary] = []
        #: Every notice of the analysis, in the order reached: each went out as a
        #: `Notice` event, except a calibration's warnings, which its `CalibrationDone`
        #: event carries.
        self.notes: list[Notice] = []
        self._pair_noted = False
        #: Why each candidate movement was counted or not, by the timeline index it
        #: starts at: a movement judged again (after a set search restarts, or with a
        #: later end) keeps its last verdict.
        self._decisions: dict[int, CycleDecision] = {}

    # -- public ----------------------------------------------------------------------
    def feed(self, block: SensorSamples) -> list[Event]:
        if block.placement not in self.chains:
            raise AnalysisError(
                f"samples from the {block.placement} sensor, but the session has "
                f"{' and '.join(self.chains)} only"
            )
        events: list[Event] = []
        chain = self.chains[block.placement]
        for k, piece in enumerate(_pieces(block, FEED_PIECE_SAMPLES)):
            if k:
                # Map what the previous piece completed (events come after the block).
                self.timeline.advance(final=False)
            if chain.push(piece):
                events.extend(self._calibrated(chain))
            events.extend(self._note(t, line) for t, line in chain.take_reclip_notices())
        events.extend(self._advance(final=False))
        return events

    def finish(self) -> list[Event]:
        events: list[Event] = []
        for chain in self.chains.values():
            if chain.finish():
                events.extend(self._calibrated(chain))
            events.extend(self._note(t, line) for t, line in chain.take_reclip_notices())
        for p, chain in self.chains.items():
            if chain.calibrated_at is None:
                # Every recording with motion is calibrated by now (from an estimated
                # standing posture if need be); only one without samples is not.
                raise UnusableSensorError(f"{p} sensor: too few samples to analyse", p)
        events.extend(self._advance(final=True))
        if self._seg is not None:
            n = len(self.timeline)
            if self._pending is not None:
                events.extend(self._add_pending(n - 1))
            # The recording ended on the way back to the rest: nothing can follow that
            # last movement, so it ends at the furthest sample (`RepSegmenter.end_turn`).
            if (tp := self._seg.end_turn(self.timeline.lean_deg.view, n)) is not None:
                events.extend(self._add_turn(tp, n - 1, waited=True))  # no more samples
            self._seg.note_unjudged()
            events.extend(self._close_set(n - 1))
            self._take_verdicts()
        end_s = float(self.timeline.time_s.view[-1]) if len(self.timeline) else 0.0
        for p, chain in self.chains.items():
            if (line := chain.clipping.notice(p)) is not None:
                events.append(self._note(end_s, line))  # (a count over the whole session)
        return events

    @property
    def notices(self) -> list[str]:
        """The lines of every notice so far (`notes`)."""
        return [n.message for n in self.notes]

    # -- internals -------------------------------------------------------------------
    @property
    def _approximate(self) -> bool:
        """Any sensor's zero is an estimate (no still standing moment)."""
        return any(c.mounting is not None and c.mounting.approximate for c in self.chains.values())

    def _note(self, time_s: float, message: str) -> Notice:
        """A notice, recorded in `notes`; the caller emits it."""
        notice = Notice(time_s, message)
        self.notes.append(notice)
        return notice

    def _calibrated(self, chain: SensorChain) -> list[Event]:
        m = chain.mounting
        assert m is not None
        self.notes.extend(Notice(m.standing_end_s, w) for w in m.warnings)
        events: list[Event] = [
            CalibrationDone(m.standing_end_s, chain.placement, m.standing_s, m.warnings)
        ]
        if self.dual and chain.placement == LUMBAR and not m.approximate:
            # Standing is a posture of the whole trunk: the pelvis sensor takes it where
            # the lumbar sensor found it (`MountingCalibrator.follower`).
            sac = self.chains[SACRUM]
            if sac.hint(m.standing_start_s, m.standing_end_s):
                events.extend(self._calibrated(sac))
        return events

    def _advance(self, final: bool) -> list[Event]:
        self.timeline.advance(final)
        events: list[Event] = []
        if self.timeline.pair_notice is not None and not self._pair_noted:
            self._pair_noted = True
            events.append(self._note(self.timeline.pair_apart_s, self.timeline.pair_notice))
        n = len(self.timeline)
        if n == 0:
            return events
        if self._seg is None:
            period = self.timeline.period_s
            assert period is not None
            s = self.settings.segmentation
            self._decim = max(1, round(1.0 / (s.segmentation_rate_hz * period)))
            self._bottom_wait = round(BOTTOM_WINDOW_S / period)
            ex = self.settings.exercise
            # The hinge sensor is the sacrum with two sensors, at about the hip joint's
            # height; a lone lumbar sensor sits higher on the trunk, so a pure hinge
            # already lowers it (docs/analysis.md, "Rest position and exercise").
            lumbar_alone = self.timeline.main.placement == LUMBAR and not self.dual
            self._seg = RepSegmenter(
                s,
                period,
                ex or None,
                hinge_radius_m=LUMBAR_SENSOR_RADIUS_M if lumbar_alone else 0.0,
                lean_has_lumbar=lumbar_alone or self.dual,
            )
            self._turns = TurningPointTracker(
                s.hysteresis_deg,
                max(1, round(s.settle_s / (period * self._decim))),
                s.still_rate_deg_s,
            )
        events.extend(self._cues(n))
        events.extend(self._segment(n))
        self._take_verdicts()
        return events

    def _take_verdicts(self) -> None:
        assert self._seg is not None
        t = self.timeline.time_s.view
        for v in self._seg.take_verdicts():
            self._decisions[v.start] = CycleDecision(
                float(t[v.start]), float(t[v.end]), v.verdict, v.reason
            )

    @property
    def decisions(self) -> list[CycleDecision]:
        """Every verdict so far, in time order."""
        return sorted(self._decisions.values(), key=lambda d: (d.start_s, d.end_s))

    def _cues(self, n: int) -> list[Event]:
        """Crossing cues on lumbar flexion / extension, sample-accurate."""
        if not self.dual:
            self._next_cue = n
            return []
        s = self.settings
        # Only the new samples; no cue on angles that cannot be trusted (data lost).
        base = self._next_cue
        tl = self.timeline
        lam = np.where(tl.unreliable.view[base:n], np.nan, tl.lumbar_deg.view[base:n])
        t = tl.time_s.view[base:n]
        events: list[Event] = []
        i = 0
        while (crossing := self._next_crossing(lam, i)) is not None:
            k, flexion = crossing
            if flexion:
                if self._flex_armed:
                    events.append(
                        FlagRaised(float(t[k]), "flexion", float(lam[k]), s.flexion_limit_deg)
                    )
                self._flex_armed = not self._flex_armed
            else:
                if self._ext_armed:
                    events.append(
                        FlagRaised(
                            float(t[k]), "overextension", float(-lam[k]), s.extension_limit_deg
                        )
                    )
                self._ext_armed = not self._ext_armed
            i = k + 1
        self._next_cue = n
        return events

    def _next_crossing(self, lam: np.ndarray, start: int) -> tuple[int, bool] | None:
        """(index, is flexion) of the first sample from ``start`` on at which a cue fires
        or re-arms (flexion first when both do), or None.

        Looks ahead in growing chunks, so that a long block (a whole recording) is not
        scanned to its end again for every crossing in it.
        """
        s = self.settings
        step = CUE_LOOKAHEAD_SAMPLES
        while start < len(lam):
            seg = lam[start : start + step]
            if self._flex_armed:
                flex = seg > s.flexion_limit_deg
            else:
                flex = seg < s.flexion_limit_deg - CUE_REARM_DEG
            if self._ext_armed:
                ext = -seg > s.extension_limit_deg
            else:
                ext = -seg < s.extension_limit_deg - CUE_REARM_DEG
            hits = np.flatnonzero(flex | ext)
            if len(hits):
                k = int(hits[0])
                return start + k, bool(flex[k])
            start += step
            step *= 2
        return None

    def _segment(self, n: int) -> list[Event]:
        assert self._seg is not None and self._turns is not None
        tl = self.timeline
        # Turning points of the lean (the hinge plus lumbar rounding with two sensors).
        h = tl.lean_deg.view
        w = tl.lean_rate_deg_s.view
        events: list[Event] = []
        # Plain floats: the scan runs at the segmentation rate over the whole session.
        idx = range(self._next_seg, n, self._decim)
        hs = h[self._next_seg : n : self._decim].tolist()
        ws = w[self._next_seg : n : self._decim].tolist()
        p = 0
        while p < len(idx):
            # Scan to the next turning point, but stop at the sample where an open set
            # times out (the first past `RepSegmenter.open_until`), and at the first at
            # which a held upright turn has the samples it waits for.
            end = len(idx)
            if (until := self._seg.open_until()) is not None:
                timeout_at = (until - idx.start) // self._decim + 1
                end = min(end, max(p, timeout_at) + 1)
            if self._pending is not None:
                ready_at = max(0, -(-(self._pending_until - idx.start) // self._decim))
                end = min(end, max(p, ready_at) + 1)
            p, tp = self._turns.scan(idx, hs, ws, p, end)
            i = idx[p - 1]
            if self._pending is not None and (tp is not None or i >= self._pending_until):
                events.extend(self._add_pending(i))
            if tp is not None:
                events.extend(self._add_turn(tp, i))
            elif (until := self._seg.open_until()) is not None and i > until:
                self._seg.close_set()
                events.extend(self._end_set(i))
        # Continue exactly on the decimation grid next time.
        last = self._next_seg + ((n - 1 - self._next_seg) // self._decim) * self._decim
        self._next_seg = last + self._decim if n > self._next_seg else self._next_seg
        return events

    def _add_turn(self, tp: TurningPoint, i: int, waited: bool = False) -> list[Event]:
        """Give the segmenter a turning point confirmed at timeline index ``i``.

        An upright turn (a minimum) waits until `BOTTOM_WINDOW_S` of samples after it
        are in (`_add_pending`), unless it was confirmed that late: whether the hips
        turn up through it (the bottom of a squat, not standing) shows after it."""
        assert self._seg is not None
        if not tp.is_max and not waited and i < tp.index + self._bottom_wait:
            self._pending, self._pending_until = tp, tp.index + self._bottom_wait
            return []
        tl = self.timeline
        # Turns come from the lean; a movement's boundaries from the hinge's own rate: the
        # hips start and end a rep, and the back can round on after they have set off
        # (a deadlift breaking from the floor) or before they move.
        cycles, ended = self._seg.add_turn(
            tp,
            tl.hinge_rate_deg_s.view,
            tl.lean_deg.view,
            tl.vert_acc_mps2.view,
            tl.lumbar_deg.view,
            tl.unreliable.view,
            now=i,
            hinge=tl.hinge_deg.view,
        )
        events = self._end_set(i) if ended else []
        events.extend(self._emit_reps(cycles, i))
        return events

    def _add_pending(self, i: int) -> list[Event]:
        """Add the held upright turn, with the samples up to index ``i``."""
        tp, self._pending = self._pending, None
        assert tp is not None
        return self._add_turn(tp, i, waited=True)

    def _emit_reps(self, cycles: list[Cycle], i: int) -> list[Event]:
        if not cycles:
            return []
        tl = self.timeline
        t = tl.time_s.view
        events: list[Event] = []
        assert self._seg is not None and self._seg.open is not None
        o = self._seg.open
        if not self.set_reps and not self.set_exercise:
            self.set_no += 1
            self.set_exercise = self._exercise(o)
            self.set_evidence = o.decision.evidence
            events.append(
                SetStarted(
                    float(t[cycles[0].a.leave or cycles[0].a.arrive]),
                    self.set_no,
                    self.set_exercise,
                )
            )
        for c in cycles:
            start = c.a.leave if c.a.leave is not None else c.a.arrive
            m = rep_metrics(
                set_no=self.set_no,
                rep_no=len(self.set_reps) + 1,
                exercise=self.set_exercise,
                start=start,
                peak=c.p.tp.index,
                end=c.b.arrive,
                time_s=t,
                hinge_deg=tl.hinge_deg.view,
                hinge_rate_deg_s=tl.hinge_rate_deg_s.view,
                lumbar_deg=tl.lumbar_deg.view,
                unreliable=tl.unreliable.view,
                settings=self.settings,
            )
            if self._approximate:
                m = dataclasses.replace(m, angles_approximate=True)
            self.set_reps.append(m)
            self.all_reps.append(m)
            events.append(RepCompleted(float(t[i]), m))
            if self.dual and m.lumbar_extension_deg is None and tl.pair_notice is None:
                events.append(
                    self._note(
                        float(t[i]),
                        f"set {m.set} rep {m.rep}: a sensor lost data around this rep; lumbar "
                        "angles not reported for it"
                        if m.lumbar_flexion_deg is None
                        else f"set {m.set} rep {m.rep}: a sensor lost data near standing in "
                        "this rep; its peak flexion is measured, its extension not reported",
                    )
                )
        return events

    def _exercise(self, o: OpenSet) -> str:
        return self.settings.exercise or o.decision.exercise

    def _end_set(self, i: int) -> list[Event]:
        if not self.set_reps:
            self.set_exercise = ""
            return []
        tl = self.timeline
        reps = self.set_reps
        start_s, end_s = reps[0].start_s, reps[-1].end_s
        over = None
        if self.dual:
            assert self._seg is not None  # the reps came from it
            t = tl.time_s.view
            a, b = np.searchsorted(t, [start_s, end_s])
            lam = tl.lumbar_deg.view[a : b + 1]
            over = float(np.sum(lam > self.settings.flexion_limit_deg) * self._seg.period_s)
        summary = set_summary(
            self.set_no,
            self.set_exercise,
            reps,
            start_s,
            end_s,
            over,
            self.settings.creep_deg,
            self.set_evidence,
        )
        self.summaries.append(summary)
        events: list[Event] = []
        t_now = float(tl.time_s.view[min(i, len(tl) - 1)])
        if summary.creep_rep is not None:
            events.append(
                FlagRaised(
                    t_now,
                    "creep",
                    summary.creep_deg or 0.0,
                    self.settings.creep_deg,
                    set=self.set_no,
                    rep=summary.creep_rep,
                )
            )
        events.append(SetEnded(t_now, summary))
        self.set_reps = []
        self.set_exercise = ""
        return events

    def _close_set(self, i: int) -> list[Event]:
        assert self._seg is not None
        self._seg.close_set()
        return self._end_set(i)
