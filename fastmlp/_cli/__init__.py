"""The command line's work (fastmlp.cli is the entry point): the commands, reading tables,
and the lecture's worked example."""
