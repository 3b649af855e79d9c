"""The built-in ``stream`` plugin: ``kernel stream`` runs a pipeline on each new file of a landing directory,
exactly once, with its window state carried from file to file (docs/streaming.md)."""
