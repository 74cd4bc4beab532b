"""The three engines a template combines: audio (narration), subtitle (captions), visuals."""
