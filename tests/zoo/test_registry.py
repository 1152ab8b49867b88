"""Every method file registers one model with complete metadata."""

import importlib
import pkgutil

import pytest

import zoo
from zoo.potential import Potential
from zoo.registry import DESCRIPTOR_KINDS, GENERATIONS, registered


def test_every_model_module_registers_exactly_one_model():
    models = registered()
    package = importlib.import_module("zoo.models")
    for module in pkgutil.iter_modules(package.__path__):
        owners = [m for m in models.values() if m.cls.__module__ == f"zoo.models.{module.name}"]
        assert len(owners) == 1, f"zoo/models/{module.name}.py registers {len(owners)} models"


def test_metadata_is_complete():
    for info in registered().values():
        assert issubclass(info.cls, Potential)
        assert info.generation in GENERATIONS and info.descriptor in DESCRIPTOR_KINDS
        assert info.paper and info.summary


def test_available_lists_hdnnp():
    table = zoo.available()
    row = table.set_index("name").loc["hdnnp"]
    assert row["generation"] == "2G" and row["descriptor"] == "predefined" and not row["long_range"]


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown model 'nope'.*hdnnp"):
        zoo.create("nope")


def test_unsupported_names_elements_and_periodicity(cu_data, ethanol_data):
    import dataclasses

    hdnnp = zoo.registry.info("hdnnp")
    assert hdnnp.unsupported(cu_data) is None and hdnnp.unsupported(ethanol_data) is None
    organic = dataclasses.replace(hdnnp, name="organic", elements=(1, 6, 7, 8), periodic=False)
    assert organic.unsupported(ethanol_data) is None
    assert "[29]" in organic.unsupported(cu_data)
    molecular = dataclasses.replace(hdnnp, name="molecular", periodic=False)
    assert "periodic" in molecular.unsupported(cu_data)
    one = dataclasses.replace(hdnnp, name="one", periodic=False, fixed_molecule=True)
    assert one.unsupported(ethanol_data) is None
    reordered = ethanol_data[:3]
    reordered.numbers[:9] = reordered.numbers[:9][::-1]
    assert "one molecule" in one.unsupported(reordered)
    from ase.build import molecule

    from zoo.data import Dataset
    water = Dataset.from_atoms([molecule("H2O")])
    assert "one molecule" in one.unsupported(Dataset.concatenate([ethanol_data[:2], water]))


def test_unsupported_names_missing_required_labels(cu_data, ethanol_data):
    bpopnn = zoo.registry.info("bpopnn")
    assert bpopnn.unsupported(ethanol_data) is None
    assert "charges" in bpopnn.unsupported(cu_data)
