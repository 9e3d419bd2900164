# Makes `tests.servers` importable from the repository root (pytest: pythonpath = ["."] in pyproject.toml).
