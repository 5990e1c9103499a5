"""Files and ffmpeg: atomic writes, codecs, frame formats, sinks and the writer thread.

Nothing here knows the config: the run layer turns a recipe into these plain objects.
"""
