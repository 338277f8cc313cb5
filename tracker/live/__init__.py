"""Live sessions: stream sensors, record, analyse, display and cue as it happens.

`tracker.live.session.run_live` drives one session (the CLI's ``tracker live``);
`tracker.live.cues.CuePolicy` decides when a flag becomes a cue; `tracker.live.display`
keeps the status the terminal shows. Nothing here prints: results go to a `LiveSink`.
"""
