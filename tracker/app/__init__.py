"""Use cases: what a command does, from its inputs to its results, without the terminal.

The library is layered so that data flows one way: sources (`tracker.recording`,
`tracker.devices`, `tracker.sim`) -> `tracker.signal` -> `tracker.analysis` -> sinks
(`tracker.report`, `tracker.history`, `tracker.live`). Each module here joins those
layers for one job, and the CLI (`tracker.cli`) parses options, calls one of them and
renders what it returns:

* `offline.analyse_recording`: a recording through the pipeline (summary, replay, plots);
* `export`: load, analyse, write the per-rep CSV, add to the history, many files in a
  process pool (``tracker export``);
* `live.run_live`: stream sensors, record, analyse and cue as it happens (``tracker live``).
* `profile`: the lifter's saved profile and the precedence of the settings sources.

`tests/test_layers.py` holds the order of the layers and keeps imports pointing down it.
"""
