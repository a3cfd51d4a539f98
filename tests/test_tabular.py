"""Reading the command line's data files: header detection, target columns, NPZ files."""
import numpy as np
import pytest

from fastmlp._cli import tabular


def write(path, text):
    path.write_text(text)
    return path


def test_a_header_is_a_first_row_without_numbers(tmp_path):
    with_header = tabular.read_training(write(tmp_path / "a.csv", "size,colour,weight\n1,2,3\n4,5,6\n"), "colour")
    np.testing.assert_array_equal(with_header.X, [[1, 3], [4, 6]])
    assert with_header.columns == ["size", "weight"] and with_header.target == "colour"
    assert with_header.target_index == 1 and with_header.y.tolist() == [2.0, 5.0]
    without = tabular.read_training(write(tmp_path / "b.csv", "1,2,cat\n4,5,dog\n"), "-1")
    np.testing.assert_array_equal(without.X, [[1, 2], [4, 5]])
    assert without.columns == ["column 0", "column 1"] and without.target is None and without.target_index == 2
    assert without.y.tolist() == ["cat", "dog"]


def test_quoted_cells_blank_lines_and_spaces(tmp_path):
    table = tabular.read_training(write(tmp_path / "q.csv", 'a,b,label\n 1 , 2,"x, y"\n\n3,4,z\n'))
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 4]])
    assert table.y.tolist() == ["x, y", "z"]


def test_a_name_needs_a_header(tmp_path):
    with pytest.raises(ValueError, match="has no header row, so --target must be a column index"):
        tabular.read_training(write(tmp_path / "n.csv", "1,2,3\n"), "weight")


def test_inputs_drop_the_target_column_by_name_or_index(tmp_path):
    by_name = tabular.read_inputs(write(tmp_path / "a.csv", "y,x1,x2\n0,1,2\n"), 2, target="y", target_index=2)
    np.testing.assert_array_equal(by_name.X, [[1, 2]])  # the header's name wins over the index
    by_index = tabular.read_inputs(write(tmp_path / "b.csv", "1,0,2\n"), 2, target=None, target_index=1)
    np.testing.assert_array_equal(by_index.X, [[1, 2]])
    exact = tabular.read_inputs(write(tmp_path / "c.csv", "1,2\n"), 2)
    np.testing.assert_array_equal(exact.X, [[1, 2]])
    with pytest.raises(ValueError, match="has 3 columns; the model takes 2 inputs$"):
        tabular.read_inputs(tmp_path / "b.csv", 2)


def test_npz_and_npy_files(tmp_path):
    X = np.arange(6.0).reshape(3, 2)
    np.savez(tmp_path / "d.npz", X=X, y=np.array(["a", "b", "a"]))
    table = tabular.read_training(tmp_path / "d.npz")
    np.testing.assert_array_equal(table.X, X)
    assert table.y.tolist() == ["a", "b", "a"]
    np.save(tmp_path / "x.npy", X)
    np.testing.assert_array_equal(tabular.read_inputs(tmp_path / "x.npy", 2).X, X)
    cases = {
        "no_y.npz": ({"X": X}, "has no array y"),
        "short_y.npz": ({"X": X, "y": np.zeros(2)}, r"y has shape \(2,\); expected \(3,\)"),
        "nan.npz": ({"X": np.array([[np.nan, 1.0]]), "y": np.zeros(1)}, "X contains NaN or infinity"),
        "flat.npz": ({"X": np.zeros(3), "y": np.zeros(3)}, r"X has shape \(3,\); expected \(n, d\)"),
        "objects.npz": ({"X": np.array([[1, None]], dtype=object), "y": np.zeros(1)}, "cannot be read"),
    }
    for name, (arrays, message) in cases.items():
        np.savez(tmp_path / name, **arrays)
        with pytest.raises(ValueError, match=message):
            tabular.read_training(tmp_path / name)
    with pytest.raises(ValueError, match="--target picks a CSV column"):
        tabular.read_training(tmp_path / "d.npz", "y")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.npz: not a readable numpy file"):
        tabular.read_training(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="X has 2 columns; the model takes 3 inputs"):
        tabular.read_inputs(tmp_path / "x.npy", 3)
