"""The live display and cues: what a lifter sees and hears while a session streams.

`tracker.live.cues.CuePolicy` decides when a flag becomes a cue; `tracker.live.display`
keeps the status the terminal shows; `tracker.live.speech` speaks cues. The session
itself (stream, record, analyse) is the use case `tracker.app.live.run_live`. Nothing
here prints: the CLI renders.
"""
