"""The public API: what built-in plugins import of the kernel and of each other is exported, so that a
third-party plugin can do everything they do."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import kernel

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
PUBLIC_MODULES = {f"kernel.{name}" for name in kernel.__all__ if isinstance(getattr(kernel, name), type(kernel))}


def _exported(module: str) -> set[str]:
    loaded = importlib.import_module(module)
    names = getattr(loaded, "__all__", None)
    return set(names) if names is not None else {n for n in vars(loaded) if not n.startswith("_")}


def _imports(root: Path, package: str) -> list[tuple[str, int, str, str]]:
    """(file, line, module, name) of every import of the kernel or of another plugin in ``package``."""
    found = []

    def foreign(module: str) -> bool:
        top = module.split(".")[0]
        return top == "kernel" or (top.startswith("kernel_") and top != package)

    for path in sorted((root / package).rglob("*.py")):
        where = str(path.relative_to(root))
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and foreign(node.module):
                found += [(where, node.lineno, node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(where, node.lineno, alias.name, "") for alias in node.names if foreign(alias.name)]
    return found


def private_imports(root: Path, package: str) -> list[str]:
    wrong = []
    for where, line, module, name in _imports(root, package):
        public_module = module == module.split(".")[0] or module in PUBLIC_MODULES
        if not public_module or (name and name not in _exported(module)):
            wrong.append(f"{where}:{line}: {module}{'.' + name if name else ''}")
    return wrong


def _packages(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if (p / "__init__.py").exists())


def test_built_in_plugins_import_only_public_names() -> None:
    packages = _packages(PLUGINS)
    assert {"kernel_io", "kernel_iot", "kernel_report", "kernel_tracker", "kernel_validator"} <= set(packages)
    assert [line for package in packages for line in private_imports(PLUGINS, package)] == []


def test_a_private_import_is_reported(tmp_path: Path) -> None:
    (tmp_path / "kernel_fake").mkdir()
    (tmp_path / "kernel_fake" / "__init__.py").write_text(
        "from kernel import Run, signals\n"
        "from kernel.events import StepCompleted\n"
        "from kernel.steps import DatasetIO\n"
        "from kernel import _secret\n"
        "import kernel.graph\n"
        "from kernel_io.paths import resolve\n"
        "from kernel_io import resolve, read_frame\n"
        "from kernel_fake.inner import anything\n"
    )
    assert private_imports(tmp_path, "kernel_fake") == [
        "kernel_fake/__init__.py:3: kernel.steps.DatasetIO",
        "kernel_fake/__init__.py:4: kernel._secret",
        "kernel_fake/__init__.py:5: kernel.graph",
        "kernel_fake/__init__.py:6: kernel_io.paths.resolve",
    ]


def test_every_exported_name_exists() -> None:
    for package in ["kernel", *_packages(PLUGINS)]:
        loaded = importlib.import_module(package)
        for name in getattr(loaded, "__all__", ()):
            assert hasattr(loaded, name), f"{package}.{name}"


def test_validation_problem_names_the_field_and_what_is_wrong() -> None:
    from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        path: str
        limit: int = 0

        @field_validator("limit")
        @classmethod
        def _positive(cls, value: int) -> int:
            if value < 0:
                raise ValueError("must be 0 or more")
            return value

    def problem(data: dict[str, object], **kw: object) -> tuple[str, str]:
        try:
            Settings.model_validate(data)
        except ValidationError as exc:
            return kernel.validation_problem(exc, **kw)  # type: ignore[arg-type]
        raise AssertionError("valid")

    # A misspelling shows as a missing field too: the misspelling is what is named.
    assert problem({"pth": "x"}, known=["path", "limit"]) == ("pth", "unknown field; did you mean 'path'?")
    assert problem({"path": "x", "zzz": 1}, noun="setting", known=["path", "limit"]) == (
        "zzz",
        "unknown setting (settings: path, limit)",
    )
    assert problem({}) == ("path", "required field is missing")
    assert problem({"path": "x", "limit": -1}) == ("limit", "must be 0 or more")
