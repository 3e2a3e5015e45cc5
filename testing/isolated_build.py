"""Build stacks under mocks in this interpreter, and say which modules the program loaded from
where: the half of ``./dev check-deploy`` that runs inside a virtual environment made from a
requirements file alone, as the Pulumi CLI makes one (``testing.deploy_check`` is the other half).

Reads ``{"builds": [{"name", "stack", "config"}]}`` as JSON on standard input and writes one JSON
document on standard output: for each build whether the program declared its stack and what it
declared (type, name, Region, parent's type and the names of the inputs it set); every module
loaded from outside the standard library, this interpreter's site-packages and the project's own
packages; and the distributions installed here. It imports nothing but the standard library, the
mocks harness and what the program imports, so a program that imports a development package fails
here with ``ModuleNotFoundError``, as ``pulumi up`` would.
"""

from __future__ import annotations

import json
import sys
import sysconfig
import warnings
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from settings.table import PROJECT_ROOT
from testing.mock_program import Deployment, ProgramError, deploy

# The project's own top-level packages, each a folder of PROJECT_ROOT (the program's __main__.py
# is run by path, not imported as a package).
PROJECT_PACKAGES = frozenset(
    path.name for path in PROJECT_ROOT.iterdir() if (path / "__init__.py").is_file()
)


def allowed_roots() -> list[Path]:
    """Where this interpreter's modules may come from: its standard library and its own
    site-packages (a virtual environment's, without the system's)."""
    paths = sysconfig.get_paths()
    return [Path(paths[key]).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")]


def modules_outside(
    modules: Mapping[str, Any], roots: Iterable[Path], project_root: Path = PROJECT_ROOT
) -> list[str]:
    """``name: file`` of every loaded module whose file lies neither under one of ``roots`` nor in
    a project package (a folder of ``project_root`` that is not a virtual environment); built-in
    and frozen modules have no file and are the interpreter's own."""
    roots = list(roots)
    outside = []
    for name, module in sorted(modules.items()):
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        if any(path.is_relative_to(root) for root in roots):
            continue
        if path.is_relative_to(project_root):
            top = path.relative_to(project_root).parts[0]
            if top in PROJECT_PACKAGES or top == "__main__.py":
                continue
        outside.append(f"{name}: {path}")
    return outside


def declared(deployment: Deployment) -> list[list[Any]]:
    """What a build declared, comparable between environments: type, name, Region, the parent's
    type and the names of the inputs it set, in declaration order."""
    types = {resource.urn: resource.type for resource in deployment.resources}
    return [
        [
            resource.type,
            resource.name,
            resource.region,
            types.get(resource.parent, ""),
            sorted(resource.inputs),
        ]
        for resource in deployment.resources
    ]


def build(name: str, stack: str, config: Mapping[str, str]) -> dict[str, Any]:
    """One build's outcome: what it declared and exported, or the error that stopped it."""
    try:
        deployment = deploy(config, stack=stack)
    except ProgramError as error:
        return {"name": name, "error": str(error), "declared": [], "exports": []}
    return {
        "name": name,
        "error": None,
        "declared": declared(deployment),
        "exports": sorted(deployment.exports),
    }


def main() -> int:
    request = json.load(sys.stdin)
    # pulumi-aws marks some of its own input types deprecated on import; not ours to report.
    warnings.simplefilter("ignore", DeprecationWarning)
    builds = [build(b["name"], b["stack"], b["config"]) for b in request["builds"]]
    json.dump(
        {
            "python": sys.version.split()[0],
            "distributions": sorted(
                f"{dist.metadata['Name']}=={dist.version}" for dist in metadata.distributions()
            ),
            "outside": modules_outside(sys.modules, allowed_roots()),
            "builds": builds,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
