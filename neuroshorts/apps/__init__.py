"""The ways to run templates without opening a notebook: the `neuroshorts` command (`cli`),
its batch and watch modes, the terminal progress bar, the log set-up they share, and the
render service (REST API, queue, workers)."""
