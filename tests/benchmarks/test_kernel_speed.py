"""The kernel speed/memory tables have every kernel, sane numbers and the memory they claim.

No timing is asserted: speed is a benchmark's business, not a test's.
"""

import importlib.util

import numpy as np
import pytest

from benchmarks import kernel_speed
from benchmarks.descriptor_speed import copper
from descriptors.acsf import AcsfParams, acsf
from descriptors.neighbors import neighbor_list


@pytest.fixture(scope="module")
def tables():
    return kernel_speed.smoke()


def test_every_kernel_is_measured_on_both_systems(tables):
    by_system = tables.kernels.groupby("system")["kernel"].apply(list).to_dict()
    assert by_system["Cu fcc"] == kernel_speed.applicable(periodic=True)
    assert by_system["ethanol"] == list(kernel_speed.KERNELS)


def test_times_shapes_and_memory_are_positive_and_finite(tables):
    numbers = tables.kernels[["us_per_atom", "columns", "rows_per_atom", "blocks_per_atom", "bytes_per_atom"]]
    assert np.all(np.isfinite(numbers.to_numpy(float))) and np.all(numbers.to_numpy(float) > 0)
    assert np.all(tables.kernels["threads"] == 1)


def test_memory_per_atom_is_the_bytes_of_values_and_jacobian():
    atoms = copper(1)
    params = AcsfParams.auto([29], kernel_speed.CU_CUTOFF)
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, params.cutoff)
    values, jac = acsf(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb, params, device="cpu")
    expected = (values.nbytes + jac.item.nbytes + jac.atom.nbytes + jac.value.nbytes
                + jac.displacement.nbytes) / len(atoms)
    table = kernel_speed.kernel_table([atoms], "Cu", kernel_speed.CU_CUTOFF, repeats=1, names=["acsf"])
    assert table["bytes_per_atom"].item() == expected
    assert table["columns"].item() == params.n_features == values.shape[1]


def test_scaling_table_has_each_size_and_kernel(tables):
    expected = set(kernel_speed.SCALING_KERNELS)
    if importlib.util.find_spec("dscribe") is not None:
        expected.add(kernel_speed.DSCRIBE)
    scaling = tables.scaling
    assert sorted(scaling["cells"].unique()) == list(kernel_speed.SMOKE["sizes"])
    assert all(set(group) == expected for _, group in scaling.groupby("cells")["kernel"])
    assert np.all(scaling["atoms"] == 4 * scaling["cells"] ** 3)
    assert np.all(np.isfinite(scaling["us_per_atom"])) and np.all(scaling["us_per_atom"] > 0)


def test_more_threads_than_numba_allows_is_a_clear_error():
    with pytest.raises(ValueError, match="threads must be in 1.."):
        kernel_speed.set_threads(10_000)


def test_the_report_is_made_from_the_stored_tables(tables, tmp_path):
    kernel_speed.save_tables(tables._replace(kernels=tables.kernels.assign(machine="test machine")), tmp_path)
    report = kernel_speed.write_report(tmp_path).read_text()
    assert "test machine" in report and (tmp_path / kernel_speed.FIGURE).stat().st_size > 0
    for kernel in tables.kernels["kernel"].unique():
        assert f"| {kernel} |" in report
    acsf = tables.kernels.query("kernel == 'acsf' and system == 'Cu fcc'")["us_per_atom"].item()
    assert f"{acsf:.2f}" in report  # numbers come from the CSV, rounded as shown
    if kernel_speed.DSCRIBE in set(tables.scaling["kernel"]):
        assert "acsf speed-up vs dscribe" in report
