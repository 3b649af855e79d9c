"""The built-in ``transform`` plugin: step types every data engineer expects (docs/transform.md)."""
