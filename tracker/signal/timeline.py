"""Put the sensors on the recording's timeline and derive the sagittal angles.

Timeline: the lumbar sensor's grid when present, else the single sensor's grid
(docs/frames.md). Outputs per timeline sample:

* ``hinge_deg``: pelvis inclination (sacrum sensor) with two sensors; with one sensor,
  that segment's inclination;
* ``hinge_rate_deg_s``: its rate from the gyro (+ towards flexion);
* ``lumbar_deg``: lumbar flexion lambda = theta_lumbar - theta_sacrum (NaN with one sensor);
* ``lean_deg``: the angle reps are found on: with two sensors the hinge angle plus lumbar
  flexion beyond standing (max(lambda, 0)), so a rep done by rounding the back more than
  by hinging stays a rep's size; with one sensor the hinge angle. ``lean_rate_deg_s`` is
  its rate.

The sacrum stream is mapped onto the lumbar clock with `tracker.signal.alignment`:
window by window, the lag fitted on earlier windows is used, so the output never depends
on how the input was split into blocks.
"""

from __future__ import annotations

import bisect

import numpy as np

from tracker.signal.alignment import LagModel, estimate_lag_s
from tracker.signal.buffer import Growable
from tracker.signal.chain import SensorChain
from tracker.units import LUMBAR, SACRUM

#: Windows whose hinge rate varies less than this carry no clock information.
MIN_ALIGN_RATE_STD_DEG_S = 15.0
#: Across a pelvis-sensor dropout, lumbar flexion follows the lumbar angle as it did
#: over this much reliable data before it (the lumbar-pelvic rhythm) ...
RHYTHM_WINDOW_S = 10.0
#: ... if the lumbar angle moved at least this much there (deg, SD) ...
RHYTHM_MIN_STD_DEG = 5.0
#: ... with lumbar flexion at most this share of the lumbar angle's changes.
RHYTHM_MAX_SHARE = 0.6
#: The two sensors are taken as not on one trunk when, of the last PAIR_CHECK_WINDOWS
#: alignment windows with motion (at least PAIR_CHECK_MIN_WINDOWS of them), fewer than
#: this share found their rates correlated.
PAIR_CHECK_WINDOWS = 8
PAIR_CHECK_MIN_WINDOWS = 4
PAIR_MIN_AGREEMENT = 0.25


def lean_deg(
    hinge_deg: np.ndarray,
    hinge_rate_deg_s: np.ndarray,
    lumbar_deg: np.ndarray,
    lumbar_rate_deg_s: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The trunk's lean that reps are found on, and its rate, from the pelvis's
    inclination and rate, lumbar flexion (NaN where not measured) and the lumbar
    sensor's inclination rate.

    The lean adds lumbar flexion to the pelvis's tilt: bending forward, the lumbar spine
    takes about half of the trunk's flexion (Laird 2016), and a rep rounded over a
    pelvis that barely tilts still leans a rep's size. Over-extension (lambda < 0) is
    left out: it comes at a lockout or a set-up, where a rep rests, and would move the
    rest's turn to its extreme. Where lumbar flexion is not measured, the lean is the
    pelvis's tilt.
    """
    rounding = np.where(np.isfinite(lumbar_deg), np.maximum(lumbar_deg, 0.0), 0.0)
    rate = np.where(rounding > 0.0, lumbar_rate_deg_s, hinge_rate_deg_s)
    return hinge_deg + rounding, rate


def held(values: np.ndarray, bad: np.ndarray, before: float) -> np.ndarray:
    """``values`` with each ``bad`` one replaced by the last good one before it
    (``before`` if there is none in ``values``)."""
    if not bad.any():
        return values
    idx = np.where(bad, -1, np.arange(len(values)))
    last = np.maximum.accumulate(idx)
    return np.where(last >= 0, values[np.maximum(last, 0)], before)


class Timeline:
    def __init__(self, chains: dict[str, SensorChain], align_window_s: float, max_lag_s: float):
        self.chains = chains
        self.dual = LUMBAR in chains and SACRUM in chains
        self.main = chains[LUMBAR] if LUMBAR in chains else next(iter(chains.values()))
        self.align_window_s = align_window_s
        self.max_lag_s = max_lag_s
        self.lags = LagModel()
        # Only the sacrum sensor of a pair can be flipped (`_check_sacrum_direction`).
        for p, chain in chains.items():
            if not (self.dual and p == SACRUM):
                chain.fix_direction()
        self._windows_done = 0
        self._sign_checked = False
        #: Last trustworthy lumbar flexion, carried across a pelvis-sensor dropout.
        self._last_lambda = 0.0
        #: (window index, rates correlated) for every alignment window with motion.
        self._agreement: list[tuple[int, bool]] = []
        #: Set once the two sensors are seen not to move together (a one-line notice),
        #: with the time from which they are apart (s).
        self.pair_notice: str | None = None
        self.pair_apart_s = 0.0
        #: Lumbar-pelvic rhythm (a, b) in use across the current dropout, if any.
        self._rhythm = (0.0, 0.0)
        self._in_dropout = False
        #: Lumbar flexion the lean used at the last timeline sample (`held`).
        self._lean_lambda = 0.0
        self.time_s = Growable()
        self.hinge_deg = Growable()
        self.hinge_rate_deg_s = Growable()
        self.lumbar_deg = Growable()
        # With one sensor the lean is the hinge angle itself (the same arrays).
        self.lean_deg = Growable() if self.dual else self.hinge_deg
        self.lean_rate_deg_s = Growable() if self.dual else self.hinge_rate_deg_s
        #: Vertical acceleration of the hinge sensor (m/s^2, gravity removed).
        self.vert_acc_mps2 = Growable()
        #: True where an angle is not trustworthy (a sensor's data lost, or the other
        #: sensor's stream not covering the time).
        self.unreliable = Growable(dtype=np.bool_)

    def __len__(self) -> int:
        return len(self.time_s)

    @property
    def period_s(self) -> float | None:
        return self.main.period_s

    def advance(self, final: bool = False) -> int:
        """Extend the timeline as far as the data allows; return the number of new samples."""
        before = len(self.time_s)
        if not all(c.calibrated_at is not None for c in self.chains.values()):
            return 0
        if not self.dual:
            c = self.main
            k0, k1 = len(self.time_s), len(c.theta_deg)
            self._emit(
                c.time_s.view[k0:k1],
                c.theta_deg.view[k0:k1],
                c.rate_deg_s.view[k0:k1],
                np.full(k1 - k0, np.nan),
                c.unreliable.view[k0:k1],
                c.vert_acc_mps2.view[k0:k1],
            )
            return len(self.time_s) - before
        self._advance_dual(final)
        return len(self.time_s) - before

    def _check_sacrum_direction(self) -> None:
        """Make both sensors agree on which way is forward.

        Each sensor takes its first large tilt as forward. When sitting or lying back
        (hip thrusts), the pelvis can tilt back past the threshold before the first
        forward lean does. Pelvis and lumbar inclinations move together in every hinge,
        so over the stretch both calibrations have seen (from standing to the earlier
        calibration) their sagittal rates must correlate positively; if they do not, the
        sacrum sensor's forward is the lumbar sensor's backward, and it is flipped.
        """
        lum, sac = self.chains[LUMBAR], self.chains[SACRUM]
        ml, ms = lum.mounting, sac.mounting
        assert ml is not None and ms is not None
        # Over the excursions both calibrations were taken on (where both overlap).
        t0 = max(ml.excursion_s[0], ms.excursion_s[0])
        t1 = min(ml.excursion_s[1], ms.excursion_s[1])
        tl = lum.time_s.view[: len(lum.rate_deg_s)]
        a, b = np.searchsorted(tl, [t0, t1])
        if b - a < 8:
            return
        ts = sac.time_s.view[: len(sac.rate_deg_s)]
        w_l = lum.rate_deg_s.view[a:b]
        w_s = np.interp(tl[a:b], ts, sac.rate_deg_s.view)
        if float(np.dot(w_l - w_l.mean(), w_s - w_s.mean())) < 0:
            sac.flip()

    def _advance_dual(self, final: bool) -> None:
        lum, sac = self.chains[LUMBAR], self.chains[SACRUM]
        if not self._sign_checked:
            self._check_sacrum_direction()
            sac.fix_direction()
            self._sign_checked = True
        k0 = len(self.time_s)
        windows = self._sacrum_times(k0, final)
        if not windows:
            return
        # Every sample is mapped on its own from here, so all windows go at once.
        t_sac = np.concatenate(windows) if len(windows) > 1 else windows[0]
        k1 = k0 + len(t_sac)
        sac_t = sac.time_s.view[: len(sac.theta_deg)]
        hinge = np.interp(t_sac, sac_t, sac.theta_deg.view)
        rate = np.interp(t_sac, sac_t, sac.rate_deg_s.view)
        vert = np.interp(t_sac, sac_t, sac.vert_acc_mps2.view)
        # Unreliable if either bracketing sacrum sample is (looked up, not
        # interpolated over the whole history).
        br = np.clip(np.searchsorted(sac_t, t_sac, side="right"), 1, len(sac_t) - 1)
        unrel = sac.unreliable.view
        gap_s = unrel[br - 1] | unrel[br]
        theta_l = lum.theta_deg.view[k0:k1]
        lam = theta_l - hinge
        outside = (t_sac < sac_t[0]) | (t_sac > sac_t[-1])
        lam = np.where(outside, np.nan, lam)
        sac_bad = gap_s | outside
        apart = self._apart_samples(k0, k1)
        sac_bad &= ~apart  # handled below
        # Lumbar flexion for the lean (`lean_deg`): across a pelvis dropout, the
        # estimate the pelvis is taken from, so the lean stays the lumbar sensor's.
        lam_lean = lam
        if sac_bad.any():
            # The pelvis sensor dropped out: keep counting reps on the lumbar sensor,
            # the pelvis taken as lumbar minus the lumbar flexion that the lifter's
            # recent lumbar-pelvic rhythm gives.
            lam_ff = self._dropout_lambda(theta_l, lam, ~sac_bad)
            lam_lean = np.where(sac_bad, lam_ff, lam)
            hinge = np.where(sac_bad, theta_l - lam_ff, hinge)
            rate = np.where(sac_bad, lum.rate_deg_s.view[k0:k1], rate)
            vert = np.where(sac_bad, lum.vert_acc_mps2.view[k0:k1], vert)
        else:
            self._last_lambda = float(lam[-1])
            self._in_dropout = False
        if apart.any():
            # Not one trunk: lumbar flexion would be the difference of two unrelated
            # angles. Reps are counted on the lumbar sensor alone, lumbar flexion is
            # not reported (NaN, not a data loss).
            hinge = np.where(apart, theta_l, hinge)
            rate = np.where(apart, lum.rate_deg_s.view[k0:k1], rate)
            vert = np.where(apart, lum.vert_acc_mps2.view[k0:k1], vert)
            lam = np.where(apart, np.nan, lam)
            lam_lean = np.where(apart, np.nan, lam_lean)
        # Where the lumbar sensor's data were lost (its inclination bridged), lumbar
        # flexion is not trusted: the lean keeps the rounding it last had, rather than
        # follow a bridge that can swing 10-15 deg and back within the hole.
        lum_lost = lum.unreliable.view[k0:k1] & ~sac_bad
        lam_lean = held(lam_lean, lum_lost, self._lean_lambda)
        self._lean_lambda = float(lam_lean[-1]) if np.isfinite(lam_lean[-1]) else 0.0
        lean, lean_rate = lean_deg(
            hinge, rate, lam_lean, np.where(lum_lost, rate, lum.rate_deg_s.view[k0:k1])
        )
        self._emit(
            lum.time_s.view[k0:k1],
            hinge,
            rate,
            lam,
            lum.unreliable.view[k0:k1] | sac_bad,
            vert,
            lean,
            lean_rate,
        )

    def _apart_samples(self, k0: int, k1: int) -> np.ndarray:
        """`_apart` for each timeline sample ``k0 <= k < k1`` (by its window)."""
        period = self.chains[LUMBAR].period_s
        assert period is not None
        n_w = max(16, round(self.align_window_s / period))
        out = np.zeros(k1 - k0, dtype=bool)
        for j in range(k0 // n_w, (k1 - 1) // n_w + 1):
            if self._apart(j):
                a, b = max(k0, j * n_w), min(k1, (j + 1) * n_w)
                out[a - k0 : b - k0] = True
                if self.pair_notice is None:
                    recent = self._recent_agreement(j)
                    self.pair_apart_s = float(self.chains[LUMBAR].time_s.view[a])
                    self.pair_notice = (
                        "the lumbar and sacrum sensors do not move together (their turning "
                        f"agreed in {sum(recent)} of {len(recent)} stretches of movement): "
                        "check that both are on the lower back; from "
                        f"{self.pair_apart_s:.0f} s on, reps are "
                        "counted on the lumbar sensor alone and lumbar flexion is not reported"
                    )
        return out

    def _sacrum_times(self, k0: int, final: bool) -> list[np.ndarray]:
        """Sacrum-clock times of the lumbar samples from ``k0`` on that can be mapped
        now, one array per alignment window (or its covered part)."""
        lum, sac = self.chains[LUMBAR], self.chains[SACRUM]
        period = lum.period_s
        assert period is not None
        n_w = max(16, round(self.align_window_s / period))
        windows: list[np.ndarray] = []
        n_l = len(lum.theta_deg)
        while k0 < n_l:
            j = k0 // n_w
            # Window j is mapped with the lag fitted on windows before it; while nothing
            # is known about the offset yet, window j's own estimate is waited for.
            while self._windows_done < (j + 1 if self.lags.empty else j):
                if not self._estimate_window(self._windows_done, n_w, final):
                    return windows
            k1 = min((j + 1) * n_w, n_l)
            t = lum.time_s.view[k0:k1]
            t_sac = t + self.lags.lag_at(t)
            # Only where the sacrum stream already covers the mapped time.
            sac_t = sac.time_s.view[: len(sac.theta_deg)]
            if len(sac_t) < 2:
                return windows
            if not final:
                covered = int(np.searchsorted(t_sac, sac_t[-1], side="right"))
                if covered == 0:
                    return windows
                t_sac = t_sac[:covered]
            windows.append(t_sac)
            k0 += len(t_sac)
            if k0 < k1:
                return windows
        return windows

    def _dropout_lambda(self, theta_l: np.ndarray, lam: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Lumbar flexion across pelvis-sensor dropouts in the block being emitted:
        ``lam`` where ``ok``, else the rhythm fitted before the dropout applied to the
        lumbar angle ``theta_l``."""
        out = lam.copy()
        bad = ~ok
        edges = np.flatnonzero(np.diff(np.concatenate(([False], bad, [False])).astype(np.int8)))
        for i, j in zip(edges[::2], edges[1::2], strict=True):
            if i > 0 or not self._in_dropout:
                # A dropout starts here (one going on since the last block keeps its fit).
                self._rhythm = self._fit_rhythm(theta_l[:i], lam[:i], ok[:i])
            a, b = self._rhythm
            out[i:j] = a + b * theta_l[i:j]
        if ok.any():
            self._last_lambda = float(lam[int(np.flatnonzero(ok)[-1])])
        self._in_dropout = bool(bad[-1])
        return out

    def _fit_rhythm(
        self, theta_l: np.ndarray, lam: np.ndarray, ok: np.ndarray
    ) -> tuple[float, float]:
        """Lumbar flexion as ``a + b * theta_lumbar`` (deg) over the reliable samples of
        the `RHYTHM_WINDOW_S` before a dropout (the block's own samples before it come
        as arguments, the rest from the emitted timeline). Flexion follows the hinge,
        so this tracks a rep through a dropout far better than the last value would;
        without enough motion to fit, the last trustworthy flexion is carried."""
        period = self.main.period_s
        assert period is not None
        w = round(RHYTHM_WINDOW_S / period)
        # The emitted timeline ends where this block starts.
        n_hist = min(len(self.time_s), max(0, w - len(theta_l)))
        start = len(self.time_s) - n_hist
        hist_lam = self.lumbar_deg.view[start:]
        hist_theta = self.hinge_deg.view[start:] + hist_lam
        hist_ok = ~self.unreliable.view[start:]
        th = np.concatenate((hist_theta, theta_l))[-w:]
        la = np.concatenate((hist_lam, lam))[-w:]
        good = np.concatenate((hist_ok, ok))[-w:] & np.isfinite(la)
        th, la = th[good], la[good]
        if len(th) * period < 1.0 or float(np.std(th)) < RHYTHM_MIN_STD_DEG:
            return (float(la[-1]) if len(la) else self._last_lambda), 0.0
        tc = th - th.mean()
        b = float(np.clip(np.dot(tc, la - la.mean()) / np.dot(tc, tc), 0.0, RHYTHM_MAX_SHARE))
        return float(la.mean() - b * th.mean()), b

    def _estimate_window(self, i: int, n_w: int, final: bool) -> bool:
        """Estimate the lag of window ``i``; False if its data has not all arrived."""
        lum, sac = self.chains[LUMBAR], self.chains[SACRUM]
        a, b = i * n_w, (i + 1) * n_w
        if b > len(lum.theta_deg):
            if not final:
                return False
            b = len(lum.theta_deg)
        t = lum.time_s.view[a:b]
        n_s = len(sac.theta_deg)
        sac_t = sac.time_s.view[:n_s]
        if len(t) == 0:
            return False
        if not final and (n_s == 0 or sac_t[-1] < t[-1] + self.max_lag_s):
            return False
        self._windows_done = i + 1
        w_l = lum.rate_deg_s.view[a:b]
        if np.std(w_l) >= MIN_ALIGN_RATE_STD_DEG_S and n_s > 16:
            est = estimate_lag_s(t, w_l, sac_t, sac.rate_deg_s.view, self.max_lag_s)
            if est is not None:
                self.lags.add(float(np.mean(t)), est[0])
            self._agreement.append((i, est is not None))
        return True

    def _apart(self, j: int) -> bool:
        """Do the two sensors fail to move together before window ``j``?

        On one trunk, pelvis and lumbar spine turn together in every movement: their
        sagittal rates correlate strongly in about 98% of windows with motion (measured
        on the simulated suite; the worst run of 8 such windows still had 40%). A
        sensor off the trunk (on a thigh, an arm, a bag) agrees in almost none. Only
        windows before ``j`` count, which are always estimated by the time ``j`` is
        mapped, so the answer does not depend on how the input was split."""
        recent = self._recent_agreement(j)
        if len(recent) < PAIR_CHECK_MIN_WINDOWS:
            return False
        return sum(recent) < PAIR_MIN_AGREEMENT * len(recent)

    def _recent_agreement(self, j: int) -> list[bool]:
        """Agreement of the last `PAIR_CHECK_WINDOWS` windows with motion before ``j``
        (windows are estimated in order, so the list is sorted by window)."""
        end = bisect.bisect_left(self._agreement, (j, False))
        return [ok for _, ok in self._agreement[max(0, end - PAIR_CHECK_WINDOWS) : end]]

    def _emit(
        self,
        t: np.ndarray,
        hinge: np.ndarray,
        rate: np.ndarray,
        lam: np.ndarray,
        gap: np.ndarray,
        vert: np.ndarray,
        lean: np.ndarray | None = None,
        lean_rate: np.ndarray | None = None,
    ) -> None:
        """Append samples; ``lean`` and its rate with two sensors only (with one, the
        lean is the hinge angle)."""
        self.time_s.extend(t)
        if lean is not None and lean_rate is not None:
            self.lean_deg.extend(lean)
            self.lean_rate_deg_s.extend(lean_rate)
        self.hinge_deg.extend(hinge)
        self.hinge_rate_deg_s.extend(rate)
        self.lumbar_deg.extend(lam)
        self.unreliable.extend(gap)
        self.vert_acc_mps2.extend(vert)
