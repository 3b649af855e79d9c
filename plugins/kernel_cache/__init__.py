"""The built-in ``cache`` plugin: a content-addressed step cache on the kernel's ``reuse_step`` and
``observe_step`` hooks, and the ``kernel cache`` command (docs/cache.md). ``-p no:cache`` switches it off."""
