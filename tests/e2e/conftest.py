"""Fixtures of the seed end-to-end tests: one seed at a time, its emulators, and the three phases.

A test is parametrized with its seed (``seed``, indirectly, module scope);
everything below is set up once per seed and torn down before the next
seed's: the emulators, the ``World`` over them, and the phases, which run
in order on it whatever tests ask for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from seedrun import Edited, First, Rerun, Seed, World
from seedsides import Emulators

HERE = Path(__file__).parent


def _seed_name(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None or item.path.parent != HERE or "seed" not in callspec.params:
        return None
    seed: Seed = callspec.params["seed"]
    return seed.DATAFLOW.seed


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the seed tests seed by seed, so that each seed's world is built once.

    pytest groups tests by where a module-scoped parameter stands in each
    parametrization; a row test's seed comes with its row, at another place,
    so pytest alone would split a seed's tests and build its world again.
    Within a seed, the tests run in the order they are written: the phases'.
    """
    slots = [i for i, item in enumerate(items) if _seed_name(item) is not None]
    by_seed = sorted((items[i] for i in slots),
                     key=lambda item: (item.path, _seed_name(item), item.location[1]))
    for slot, item in zip(slots, by_seed, strict=True):
        items[slot] = item


@pytest.fixture(scope="module")
def seed(request: pytest.FixtureRequest) -> Seed:
    """The seed the test is parametrized with."""
    chosen: Seed = request.param
    return chosen


@pytest.fixture(scope="session")
def worlds_built() -> set[str]:
    """The seeds whose world was built: a second build means a seed's tests were split up."""
    return set()


@pytest.fixture(scope="module")
def emulators(seed: Seed) -> Iterator[Emulators]:
    """Asks for ``seed`` so that one seed's emulators stop before the next seed's start."""
    running = Emulators()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def world(seed: Seed, emulators: Emulators, tmp_path_factory: pytest.TempPathFactory,
          worlds_built: set[str]) -> World:
    name = seed.DATAFLOW.seed
    if name in worlds_built:
        pytest.fail(f"seed {name}: its world is built a second time; its tests did not run "
                    "together", pytrace=False)
    worlds_built.add(name)
    return seed.world(tmp_path_factory.mktemp(f"seed{name}"), emulators)


@pytest.fixture(scope="module")
def first(world: World) -> First:
    """The declared records made, and one sync."""
    return world.first()


@pytest.fixture(scope="module")
def edited(world: World, first: First) -> Edited:
    """Every editable row edited on the target side, and one sync."""
    return world.edit_targets(first)


@pytest.fixture(scope="module")
def rerun(world: World, edited: Edited) -> Rerun:
    """One more sync, after the edits came back."""
    return world.rerun()
