"""Gait: is a stretch of the recording walking, climbing stairs or jogging?

A lifting rep is a slow (0.3-1.5 Hz) sagittal excursion of the trunk and pelvis by tens
of degrees with the feet planted: the hips' vertical acceleration follows the hinge,
about once per rep. Gait is periodic at step frequency (1.3-3.4 steps/s): each step's
heel strike and push-off shake the hips up and down by 1-3 m/s^2 walking and up to 2 g
jogging, the same way every step, while the pelvis itself tilts only a few degrees. A
phone in a loose belt pouch, pushed round by the thigh once per stride, turns that into
an angle swinging 10-30 degrees at 0.7-1.5 Hz: a swing's tempo, so that the angle
alone would show a "rep" every stride.

So a stretch is gait when its vertical acceleration repeats itself step after step:
its normalised autocorrelation comes back to a peak at a step's lag after dipping in
between (a slow movement's only falls with the lag), with enough energy to be steps
rather than sway, and more than the candidate's own excursion could give the hips:
a swing's hips also rise and fall twice a rep, gently, in step with the hinge.

The decision looks only at the samples it is given (a candidate cycle and a short
stretch before it, all received by the time the cycle's closing turn is confirmed),
so it is the same however the recording was cut into blocks, and it costs no delay.
"""

from __future__ import annotations

import numpy as np

from tracker.units import G_MPS2

#: Shortest and longest step period (s): jogging and sprinting cadences reach 3.4
#: steps/s, the slowest strolling and careful stair descent about 1.3 steps/s.
MIN_STEP_S = 1.0 / 3.4
MAX_STEP_S = 1.0 / 1.3
#: Steps shake the hips by at least this (m/s^2, standard deviation of the vertical
#: acceleration): a slow stroll gives about 1, brisk walking 2-4, jogging 7-10; standing
#: and weight shifting stay under 0.2.
MIN_GAIT_ACC_SD_MPS2 = 0.5
#: The vertical acceleration repeats itself after one step at least this well
#: (normalised autocorrelation): heel strike, loading and push-off come back every step
#: (step regularity at the lower trunk 0.7-0.95 in adults walking, a little less on
#: stairs). A rep's hips rise and fall once or twice per rep, smoothly, and repeat less
#: exactly: the reps found in lifting sessions stay under 0.5, a few reach 0.8.
MIN_STEP_AUTOCORR = 0.65
#: Between no lag and the step lag the autocorrelation dips by at least this below its
#: peak (half a step on, heel strike meets mid-swing): a slow movement (a hinge, the
#: hips rising over seconds) still correlates well after a fraction of a second, but
#: falls steadily with the lag instead of coming back.
MIN_STEP_CONTRAST = 0.5
#: Steps shake the hips by at least this much per degree of the candidate's excursion
#: (m/s^2 SD per deg). A hinge moves the hips only as its own angle does: a sensor
#: 0.1-0.25 m from the hip axis swung at a fast swing's 1 Hz gets about 0.03 per
#: degree; the lifting reps that repeat after half a rep as regularly as steps stay
#: under 0.045. Steps give 0.8-10 m/s^2 while a loose pouch swings 10-30 degrees:
#: 0.055-0.5 per degree, the least for a slow stroll with the pouch pushed hard.
MIN_GAIT_ACC_PER_DEG = 0.05
#: Gait tilts the pelvis (or the trunk) by 10 degrees at most (deg, the candidate's
#: own range); a loosely worn phone pushed by the thigh adds up to ~35 (half the thigh's
#: 70-degree swing jogging), and the orientation of a phone rattling in its pouch can
#: be off by tens of degrees more. Beyond a right angle it is a hinge to the floor,
#: however the hips move.
MAX_GAIT_EXCURSION_DEG = 90.0
#: The vertical acceleration is compared step to step below this frequency (Hz): the
#: steps' fundamental and second harmonic at every cadence. Above it, heel-strike
#: ringing and a pouch's rattle do not repeat exactly from step to step, and at 50 Hz
#: are not even sampled at the same phase of each step.
STEP_BAND_HZ = 8.0
#: The stretch judged starts this long (s) before the candidate cycle, so that a
#: stride-long cycle still holds three steps or more to compare.
LOOKBACK_S = 0.8
#: A longer stretch is judged in windows of this length (s, three slow steps), each
#: overlapping the next by half: a "cycle" can also be a whole flight of stairs,
#: leaning into it at the bottom and straightening at the top.
WINDOW_S = 2.4
#: The cycle is gait when at least this share of its windows are: a rep's feet stay
#: planted all through it, so walking for most of one is no rep.
MIN_GAIT_SHARE = 0.5
#: A window with a smaller share of its samples received (the rest lost and bridged)
#: is no evidence of gait: too few pairs of samples a step apart remain to tell steps
#: from chance (a hinge's hips can look periodic over the few left).
MIN_VALID_SHARE = 0.7
#: Verdicts kept for cycles judged more than once (a set's last few dozen cycles).
CACHE_SIZE = 64
#: The hips of a lift stay on planted feet: they cannot fall faster than free fall
#: (-1 g), no foot strikes the floor, and no lift drives them up much harder than 1 g,
#: so over a rep the vertical acceleration's standard deviation stays well under 1 g
#: (m/s^2; at most 4.5 on the lifting reps of an independent simulator and 3.2 on real
#: squats). Jogging gives 7-10, and a phone rattling in a loose pouch while jogging
#: 16-27, its steps then no longer repeating exactly: feet leaving the floor, not a
#: rep, whether or not the steps show.
MAX_PLANTED_ACC_SD_MPS2 = G_MPS2
#: The share of a cycle's samples that must be valid for its shaking to be judged: a
#: standard deviation is well measured by half a cycle's samples (dozens), unlike the
#: step-to-step comparison above, which needs pairs of samples a step apart. Shaking
#: that hard also clips the accelerometer, whose clipped samples are left out.
MIN_SHAKE_VALID_SHARE = 0.5


class GaitDetector:
    """Judge sample spans of the timeline (period ``period_s``) for gait.

    ``vert_mps2`` is the hinge sensor's vertical acceleration on the timeline (gravity
    removed, NaN where unknown; None when there is none): one detector per timeline.
    """

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._min_lag = max(1, int(np.floor(MIN_STEP_S / period_s)))
        self._max_lag = max(self._min_lag + 1, int(np.ceil(MAX_STEP_S / period_s)))
        self._lookback = round(LOOKBACK_S / period_s)
        self._band = STEP_BAND_HZ * period_s  # in cycles per sample
        self._window = max(2 * self._max_lag, round(WINDOW_S / period_s))
        #: Verdicts by (start, stop, excursion): a cycle is judged again and again while
        #: its set is decided, and timeline samples never change once written. Only the
        #: latest are kept (a cache: results do not depend on it).
        self._cache: dict[tuple[int, int, float], bool] = {}

    def in_gait(
        self,
        vert_mps2: np.ndarray | None,
        start: int,
        stop: int,
        excursion_deg: float,
        unreliable: np.ndarray | None = None,
    ) -> bool:
        """Is the candidate cycle ``[start, stop)``, which moved the hinge angle by
        ``excursion_deg``, a step or a stride of gait? Samples marked ``unreliable``
        (data lost and bridged) are left out."""
        if vert_mps2 is None or stop <= start or excursion_deg > MAX_GAIT_EXCURSION_DEG:
            return False
        key = (start, stop, excursion_deg)
        if key not in self._cache:
            if len(self._cache) >= CACHE_SIZE:
                del self._cache[next(iter(self._cache))]
            min_sd = max(MIN_GAIT_ACC_SD_MPS2, MIN_GAIT_ACC_PER_DEG * excursion_deg)
            a = max(0, start - self._lookback)
            w = self._window
            # Windows from the start, the last one ending at the cycle's end.
            starts = list(range(a, max(a, stop - w) + 1, max(1, w // 2)))
            if starts[-1] + w < stop:
                starts.append(stop - w)
            votes = []
            for s in starts:
                e = min(stop, s + w)
                v, valid = _stretch(vert_mps2, s, e, unreliable)
                votes.append(
                    step_periodic(v, valid, self._min_lag, self._max_lag, min_sd, self._band)
                )
            self._cache[key] = sum(votes) >= MIN_GAIT_SHARE * len(votes)
        return self._cache[key]


def _stretch(
    vert_mps2: np.ndarray, start: int, stop: int, unreliable: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The samples ``[start, stop)`` and which of them are valid: known (not NaN) and not
    marked ``unreliable`` (data lost and bridged, or clipped)."""
    v = vert_mps2[start:stop]
    valid = np.isfinite(v)
    if unreliable is not None:
        valid &= ~unreliable[start:stop]
    return v, valid


def feet_off_floor(
    vert_mps2: np.ndarray | None, start: int, stop: int, unreliable: np.ndarray | None = None
) -> bool:
    """Did the hips shake harder over ``[start, stop)`` than planted feet allow
    (`MAX_PLANTED_ACC_SD_MPS2`)? Samples marked ``unreliable`` are left out, and fewer
    than `MIN_SHAKE_VALID_SHARE` valid samples are no evidence."""
    if vert_mps2 is None or stop <= start:
        return False
    v, valid = _stretch(vert_mps2, start, stop, unreliable)
    if np.count_nonzero(valid) < max(2, MIN_SHAKE_VALID_SHARE * len(v)):
        return False
    return float(np.std(v[valid])) > MAX_PLANTED_ACC_SD_MPS2


def step_periodic(
    v: np.ndarray, valid: np.ndarray, min_lag: int, max_lag: int, min_sd_mps2: float, band: float
) -> bool:
    """Does ``v`` (vertical acceleration, m/s^2; only samples where ``valid``) repeat at a
    lag in [min_lag, max_lag] samples (`MIN_STEP_AUTOCORR`), after a dip at a shorter lag
    (`MIN_STEP_CONTRAST`), with a standard deviation of at least ``min_sd_mps2``? The
    repetition is judged below ``band`` cycles per sample (`STEP_BAND_HZ`), and not at
    all when under `MIN_VALID_SHARE` of the samples are valid."""
    n_valid = int(np.count_nonzero(valid))
    if n_valid < MIN_VALID_SHARE * len(v):
        return False
    if n_valid < 2 * max_lag:
        max_lag = n_valid // 2
    if max_lag <= min_lag:
        return False
    x = np.where(valid, v - float(np.mean(v[valid])), 0.0)
    if float(np.dot(x, x)) < n_valid * min_sd_mps2**2:
        return False
    x = np.where(valid, _low_pass(x, band), 0.0)
    r = _autocorr(x, valid.astype(np.float64), max_lag)
    lags = np.arange(min_lag, max_lag + 1)
    best = int(lags[np.argmax(r[lags])])
    if r[best] < MIN_STEP_AUTOCORR:
        return False
    return r[best] - float(np.min(r[1 : best + 1])) >= MIN_STEP_CONTRAST


def _low_pass(x: np.ndarray, band: float) -> np.ndarray:
    """``x`` without its content above ``band`` cycles per sample: zero-phase, over this
    stretch only (no filter state: the same stretch always gives the same result)."""
    if band >= 0.5:
        return x
    n = len(x)
    size = 2 * n  # padded, so the two ends do not wrap into each other
    f = np.fft.rfft(x, size)
    f[np.fft.rfftfreq(size) > band] = 0.0
    return np.fft.irfft(f, size)[:n]


def _autocorr(x: np.ndarray, valid: np.ndarray, max_lag: int) -> np.ndarray:
    """Normalised autocorrelation of ``x`` (0 where not ``valid``, a 0/1 array) at lags
    0..max_lag: each lag's products over the pairs of valid samples it joins, divided by
    the energy of both sides of those pairs (so neither a lag's shorter overlap nor a
    lost stretch counts against it)."""
    n = len(x)
    size = 1 << int(np.ceil(np.log2(2 * n)))

    def corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """sum_i a[i] b[i + lag] for lag 0..max_lag."""
        fa, fb = np.fft.rfft(a, size), np.fft.rfft(b, size)
        return np.fft.irfft(np.conj(fa) * fb, size)[: max_lag + 1]

    x2 = x * x
    head = corr(x2, valid)  # energy of the first sample of each valid pair
    tail = corr(valid, x2)  # and of the second
    return corr(x, x) / np.sqrt(np.maximum(head * tail, 1e-12))
